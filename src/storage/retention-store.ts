import type { Redis } from 'ioredis'
import type { SweepReport } from '../domain/schemas/storage.js'
import type { RedisKeys } from './keys.js'
import { withCommands } from './redis-commands.js'

/** The retention sweeper's lock (one process sweeps at a time), where its walk of logs starts, and its report of the last sweep. */
export function createRetentionStore (connection: Redis, keys: RedisKeys) {
  const redis = withCommands(connection)
  return {
    /** Takes the lock for `token`, or keeps it `ttlMs` longer if it holds it already; whether it holds it now. */
    async hold (token: string, ttlMs: number): Promise<boolean> {
      return (await redis.holdLock(keys.retentionLock, token, ttlMs)) === 1
    },

    /** Gives the lock back, if `token` still holds it. */
    async release (token: string): Promise<void> {
      await redis.releaseLock(keys.retentionLock, token)
    },

    /** The id up to which every build's log is gone, or the build is (where the logs' walk starts); null at first. */
    async logCursor (): Promise<string | null> {
      return redis.get(keys.retentionLogCursor)
    },

    async saveLogCursor (id: string): Promise<void> {
      await redis.set(keys.retentionLogCursor, id)
    },

    async saveReport (report: SweepReport): Promise<void> {
      await redis.set(keys.retentionLastSweep, JSON.stringify(report))
    },

    /** What the last sweep did, by whichever process; null before the first. */
    async lastReport (): Promise<SweepReport | null> {
      return JSON.parse((await redis.get(keys.retentionLastSweep)) ?? 'null') as SweepReport | null
    }
  }
}

export type RetentionStore = ReturnType<typeof createRetentionStore>
