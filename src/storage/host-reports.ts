import type { Redis } from 'ioredis'
import type { HostReport } from '../domain/schemas/storage.js'
import type { RedisKeys } from './keys.js'

/**
 * What each worker reports of its Docker host, kept while the worker lives: a report lapses
 * `ttlMs` after it was made, so a worker that stopped or died drops out of the list by itself.
 */
export function createHostReports (redis: Redis, keys: RedisKeys) {
  return {
    async publish (report: HostReport, ttlMs: number): Promise<void> {
      const lapsesAt = Date.now() + ttlMs
      await redis.multi().set(keys.hostReport(report.worker), JSON.stringify(report), 'PX', ttlMs).zadd(keys.hostReports, lapsesAt, report.worker).exec()
    },

    /** The reports of live workers, by worker. */
    async live (): Promise<HostReport[]> {
      await redis.zremrangebyscore(keys.hostReports, '-inf', Date.now())
      const workers = await redis.zrange(keys.hostReports, 0, -1)
      if (workers.length === 0) return []
      const reports = await redis.mget(workers.map((worker) => keys.hostReport(worker)))
      return reports.flatMap((text) => (text === null ? [] : [JSON.parse(text) as HostReport]))
    }
  }
}

export type HostReports = ReturnType<typeof createHostReports>
