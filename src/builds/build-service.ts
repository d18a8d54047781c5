import type { Redis } from 'ioredis'
import { monotonicFactory } from 'ulid'
import { BuildNotFound, RedisUnavailable } from '../errors.js'
import { TERMINAL_STATUSES, type BuildRecord, type BuildRequest, type Build } from '../schemas/build.js'
import { readLogEvents, tailStart, type LogEvent } from './build-log.js'
import { followLog } from './log-follower.js'
import type { BuildQueue } from './build-queue.js'
import { newBuildRecord, normalizeBuildRequest, type RequestPolicy } from './build-request.js'
import type { BuildStore, ListQuery } from './build-store.js'
import type { RedisKeys } from './keys.js'

const newId = monotonicFactory()

/** What the API does with builds; it never runs git or docker itself. */
export function createBuildService(deps: { redis: Redis; keys: RedisKeys; store: BuildStore; queue: BuildQueue; policy: RequestPolicy }) {
  const { store, queue } = deps

  async function submit(request: BuildRequest): Promise<Build> {
    const record = newBuildRecord(newId(), normalizeBuildRequest(request, deps.policy), new Date())
    // Stored before it is enqueued: nothing is acknowledged that is not kept.
    await store.create(record)
    try {
      await queue.enqueue(record.id)
    } catch (error) {
      await store
        .transition(record.id, {
          from: ['queued'],
          to: 'failed',
          set: { finishedAt: new Date().toISOString(), error: { code: 'INTERNAL', message: 'The build could not be queued.', phase: null } }
        })
        .catch(() => undefined)
      throw new RedisUnavailable({ cause: error })
    }
    return toResource(record)
  }

  async function get(id: string): Promise<Build> {
    const record = await store.get(id)
    if (!record) throw new BuildNotFound(id)
    return toResource(record)
  }

  async function list(query: ListQuery): Promise<{ items: Build[]; nextCursor: string | null }> {
    const page = await store.list(query)
    return { items: page.items.map(toResource), nextCursor: page.nextCursor }
  }

  /**
   * Where a log read starts (the entry id to read after): after `after` (an entry id, as SSE's
   * Last-Event-ID), at `since` (a time), or `tail` lines before the end. Throws BUILD_NOT_FOUND.
   */
  async function logStart(id: string, from: { after?: string | undefined; since?: string | undefined; tail?: number | undefined }): Promise<string> {
    if (!(await deps.redis.exists(deps.keys.build(id)))) throw new BuildNotFound(id)
    if (from.after) return from.after
    if (from.since) return `${Date.parse(from.since) - 1}-18446744073709551615`
    if (from.tail) return tailStart(deps.redis, deps.keys, id, from.tail)
    return '0-0'
  }

  function readLog(id: string, after: string): AsyncGenerator<LogEvent> {
    return readLogEvents(deps.redis, deps.keys, id, after)
  }

  /** Follows the log live until the build ends; `stop()` ends it early (the client went away). */
  async function followBuildLog(id: string, after: string): Promise<{ events: AsyncGenerator<LogEvent>; stop: () => void }> {
    // XREAD BLOCK holds its connection, so each follower gets one of its own.
    const blocking = deps.redis.duplicate({ lazyConnect: true, enableOfflineQueue: true })
    await blocking.connect()
    const isFinished = async () => TERMINAL_STATUSES.includes((await store.get(id))?.status ?? 'failed')
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

  return { submit, get, list, logStart, readLog, followBuildLog }
}

export type BuildService = ReturnType<typeof createBuildService>

export function toResource(record: BuildRecord): Build {
  const self = `/v1/builds/${record.id}`
  return { ...record, links: { self, logs: `${self}/logs` } }
}
