import type { Redis } from 'ioredis'
import { BuildNotFound } from '../errors.js'
import { TERMINAL_STATUSES } from '../schemas/build.js'
import { readLogEvents, tailStart, type LogEvent } from './build-log.js'
import type { BuildStore } from './build-store.js'
import type { RedisKeys } from './keys.js'
import { followLog } from './log-follower.js'

/** What the API does with build logs: read them, or follow them live from any API process. */
export function createLogService(deps: { redis: Redis; keys: RedisKeys; store: BuildStore }) {
  return {
    /**
     * Where a log read starts (the entry id to read after): after `after` (an entry id, as SSE's
     * Last-Event-ID), at `since` (a time), or `tail` lines before the end. Throws BUILD_NOT_FOUND.
     */
    async logStart(id: string, from: { after?: string | undefined; since?: string | undefined; tail?: number | undefined }): Promise<string> {
      if (!(await deps.redis.exists(deps.keys.build(id)))) throw new BuildNotFound(id)
      if (from.after) return from.after
      if (from.since) return `${Date.parse(from.since) - 1}-18446744073709551615`
      if (from.tail) return tailStart(deps.redis, deps.keys, id, from.tail)
      return '0-0'
    },

    readLog: (id: string, after: string): AsyncGenerator<LogEvent> => readLogEvents(deps.redis, deps.keys, id, after),

    /** Follows the log live until the build ends; `stop()` ends it early (the client went away). */
    async followBuildLog(id: string, after: string): Promise<{ events: AsyncGenerator<LogEvent>; stop: () => void }> {
      // XREAD BLOCK holds its connection, so each follower gets one of its own.
      const blocking = deps.redis.duplicate({ lazyConnect: true, enableOfflineQueue: true })
      await blocking.connect()
      const isFinished = async () => TERMINAL_STATUSES.includes((await deps.store.get(id))?.status ?? 'failed')
      const events = followLog(blocking, deps.keys, id, { after, isFinished })
      return {
        events: (async function* () {
          try {
            yield* events
          } finally {
            blocking.disconnect()
          }
        })(),
        stop: () => blocking.disconnect()
      }
    }
  }
}

export type LogService = ReturnType<typeof createLogService>
