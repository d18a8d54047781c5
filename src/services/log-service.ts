import { BuildExpired, BuildNotFound, LogExpired } from '../domain/errors.js'
import type { Actor } from '../domain/schemas/audit.js'
import { TERMINAL_STATUSES } from '../domain/schemas/build.js'
import type { LogEvent } from '../storage/build-log.js'
import type { Follow } from '../storage/log-hub.js'
import type { Storage } from '../storage/storage.js'

/** What the API does with build logs: read them, or follow them live from any API process. */
export function createLogService (deps: {
  storage: Pick<Storage, 'builds' | 'buildLogs' | 'logHub' | 'followerLeases'>
  /** Open follows one token may hold (SLIPWAY_QUOTA_LOG_FOLLOWERS). */
  maxFollowers: number
  logger: { warn(details: object, message: string): void }
  /** The retention settings an expired build's or log's answer names. */
  retention: { retention: string; retentionKeepLast: number; logRetention: string }
}) {
  // A build that is gone counts as ended, so that its followers do not wait forever.
  const { builds, buildLogs } = deps.storage
  const isFinished = async (id: string) => TERMINAL_STATUSES.includes((await builds.get(id))?.status ?? 'failed')
  const hub = deps.storage.logHub({ isFinished, logger: deps.logger })
  const leases = deps.storage.followerLeases(deps.maxFollowers)

  return {
    /**
     * Where a log read starts (the entry id to read after): after `after` (an entry id, as SSE's
     * Last-Event-ID), at `since` (a time), or `tail` lines before the end. Throws BUILD_NOT_FOUND,
     * BUILD_EXPIRED (the retention sweeper removed the build) or LOG_EXPIRED (it removed the log).
     */
    async logStart (id: string, from: { after?: string | undefined; since?: string | undefined; tail?: number | undefined }): Promise<string> {
      const { retention } = deps
      const logExpiredAt = await builds.logExpiredAt(id)
      if (logExpiredAt === undefined) {
        const expiredAt = await builds.expiredAt(id)
        if (expiredAt === null) throw new BuildNotFound(id)
        throw new BuildExpired(id, new Date(expiredAt).toISOString(), retention.retention, retention.retentionKeepLast)
      }
      if (logExpiredAt !== null) throw new LogExpired(id, logExpiredAt, retention.logRetention || retention.retention, id)
      if (from.after) return from.after
      if (from.since) return `${Date.parse(from.since) - 1}-18446744073709551615`
      if (from.tail) return buildLogs.tailStart(id, from.tail)
      return '0-0'
    },

    /** The log as it is now, after `after`, in batches. */
    readLog: (id: string, after: string): AsyncGenerator<LogEvent[]> => buildLogs.readBatches(id, after),

    /**
     * Follows the log live until the build ends, counted against `actor`'s quota of open follows
     * (throws QUOTA_EXCEEDED); `stop()` ends it early (the client went away).
     */
    async followBuildLog (id: string, after: string, actor: Actor): Promise<Follow> {
      const release = await leases.acquire(actor)
      return hub.follow(id, after, () => { void release() })
    },

    /** Ends every follow of this process and gives back its leases and its Redis connection. */
    async close (): Promise<void> {
      hub.close()
      await leases.close()
    }
  }
}

export type LogService = ReturnType<typeof createLogService>
