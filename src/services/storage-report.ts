import type { Config } from '../domain/config.js'
import type { RedisMemory, StorageReport } from '../domain/schemas/storage.js'
import { AGE_BANDS, redisMemoryWarning } from '../domain/storage-report.js'
import type { KeyCensusStore } from '../storage/key-census.js'
import type { Storage } from '../storage/storage.js'

export type StorageReportDeps = {
  storage: Pick<Storage, 'builds' | 'keyCensus' | 'hostReports' | 'retention'>
  settings: Pick<Config, 'retention' | 'retentionKeepLast' | 'logRetention' | 'auditRetention'>
}

/** Redis's memory, with a warning when it is near maxmemory or may evict; null when Redis does not say. */
export async function readRedisMemory (census: Pick<KeyCensusStore, 'memory'>): Promise<RedisMemory | null> {
  const memory = await census.memory().catch(() => null)
  return memory === null ? null : { ...memory, warning: redisMemoryWarning(memory) }
}

/**
 * What Slipway keeps, gathered from Redis alone (workers report their hosts there), so any API
 * process answers the same: builds by age now, logs and keys as of the last key census, Redis's
 * memory, each live worker's host, and the last retention sweep.
 */
export function createStorageReport (deps: StorageReportDeps) {
  const { builds, keyCensus, hostReports, retention } = deps.storage

  return {
    async report (): Promise<StorageReport> {
      const now = Date.now()
      const bandStarts = AGE_BANDS.map((band) => (band.maxMs === Infinity ? 0 : now - band.maxMs))
      const [counts, memory, census, hosts, lastSweep] = await Promise.all([
        // Band i holds what was made between its start and the start of the band before it.
        Promise.all(bandStarts.map((from, i) => builds.countMade(from, i === 0 ? now + 1 : bandStarts[i - 1]!))),
        readRedisMemory(keyCensus),
        keyCensus.last(),
        hostReports.live(),
        retention.lastReport()
      ])
      const { retention: kept, retentionKeepLast, logRetention, auditRetention } = deps.settings
      return {
        measuredAt: new Date(now).toISOString(),
        history: {
          builds: counts.reduce((sum, count) => sum + count, 0),
          byAge: AGE_BANDS.map((band, i) => ({ age: band.label, builds: counts[i]!, logs: census?.logsByAge[i] ?? null }))
        },
        redis: { memory, keys: census?.keys ?? null, keysCountedAt: census?.countedAt ?? null },
        hosts: hosts.sort((a, b) => a.worker.localeCompare(b.worker)),
        retention: { retention: kept, keepLast: retentionKeepLast, logRetention, auditRetention, lastSweep }
      }
    }
  }
}

export type StorageReporter = ReturnType<typeof createStorageReport>
