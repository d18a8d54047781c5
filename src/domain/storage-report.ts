import type { RedisMemory } from './schemas/storage.js'
import { formatBytes } from './format.js'

// The rules of the storage report (GET /v1/admin/storage, slipway_redis_* metrics, /readyz).

/** The age bands builds and logs are counted in, youngest first; the last has no end. */
export const AGE_BANDS = [
  { label: 'under 1 hour', maxMs: 3_600_000 },
  { label: '1 hour to 1 day', maxMs: 86_400_000 },
  { label: '1 to 7 days', maxMs: 7 * 86_400_000 },
  { label: '7 to 30 days', maxMs: 30 * 86_400_000 },
  { label: '30 to 90 days', maxMs: 90 * 86_400_000 },
  { label: 'over 90 days', maxMs: Infinity }
] as const

/** The band (its index in AGE_BANDS) of something made `ageMs` ago. */
export function ageBand (ageMs: number): number {
  return AGE_BANDS.findIndex((band) => ageMs < band.maxMs)
}

// Redis near its maxmemory refuses writes (noeviction) or drops keys (any other policy): either
// loses builds. Warned of at this share of maxmemory, with time left to act.
export const REDIS_MEMORY_WARN_RATIO = 0.9

/** What an operator should hear about Redis's memory, or null when nothing. */
export function redisMemoryWarning (memory: Omit<RedisMemory, 'warning'>): string | null {
  if (memory.policy !== 'noeviction' && memory.policy !== 'unknown') {
    return `Redis's maxmemory-policy is ${memory.policy}: when full it drops keys, builds and queued jobs among them. Set it to noeviction (CONFIG SET maxmemory-policy noeviction, and in redis.conf).`
  }
  if (memory.maxBytes !== null && memory.usedBytes >= memory.maxBytes * REDIS_MEMORY_WARN_RATIO) {
    const share = Math.round((memory.usedBytes / memory.maxBytes) * 100)
    return `Redis uses ${share}% of its maxmemory (${formatBytes(memory.usedBytes)} of ${formatBytes(memory.maxBytes)}): new builds will be refused when it is full. Shorten SLIPWAY_RETENTION or SLIPWAY_LOG_RETENTION, or give Redis more memory (docs/operations/retention.md).`
  }
  return null
}
