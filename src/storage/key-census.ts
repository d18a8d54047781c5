import type { Redis } from 'ioredis'
import { decodeTime } from 'ulid'
import { AGE_BANDS, ageBand } from '../domain/storage-report.js'
import { KEY_KINDS, type KeyKind, type RedisKeys } from './keys.js'

/** Redis's memory figures, as INFO gives them. */
export interface RedisMemoryInfo {
  usedBytes: number
  /** null: no maxmemory. */
  maxBytes: number | null
  policy: string
}

/** A count of the installation's keys by kind, and of the logs it keeps by their build's age. */
export interface KeyCensus {
  countedAt: string
  keys: Record<KeyKind, number>
  /** Logs kept, by age band (AGE_BANDS) of their build at countedAt. */
  logsByAge: number[]
}

// SCAN looks at this many slots per call: a census of a million keys is a thousand short calls,
// between which Redis serves everyone else.
const SCAN_COUNT = 1000

/** Redis's memory (INFO memory), and a census of Slipway's keys that any process reads back. */
export function createKeyCensus (redis: Redis, keys: RedisKeys) {
  return {
    async memory (): Promise<RedisMemoryInfo> {
      const info = Object.fromEntries(
        (await redis.info('memory')).split('\r\n').flatMap((line) => (line.includes(':') ? [line.split(':', 2) as [string, string]] : []))
      ) as Record<string, string | undefined>
      const max = Number(info.maxmemory ?? 0)
      return { usedBytes: Number(info.used_memory ?? 0), maxBytes: max > 0 ? max : null, policy: info.maxmemory_policy ?? 'unknown' }
    },

    /**
     * Counts every key of this installation by kind (SCAN, a slice at a time) and saves the count.
     * On a Redis Cluster it counts the keys of the node this connection reaches.
     */
    async count (now: number): Promise<KeyCensus> {
      const counts = Object.fromEntries(KEY_KINDS.map((kind) => [kind, 0])) as Record<KeyKind, number>
      const logsByAge = AGE_BANDS.map(() => 0)
      let cursor = '0'
      do {
        const [next, batch] = await redis.scan(cursor, 'MATCH', keys.everything, 'COUNT', SCAN_COUNT)
        for (const key of batch) {
          const { kind, buildId } = keys.kindOf(key)
          counts[kind]++
          if (kind === 'log' && buildId !== undefined) logsByAge[ageBand(now - madeAt(buildId, now))]!++
        }
        cursor = next
      } while (cursor !== '0')
      const census: KeyCensus = { countedAt: new Date(now).toISOString(), keys: counts, logsByAge }
      await redis.set(keys.keyCensus, JSON.stringify(census))
      return census
    },

    /** The last census, by whichever process made it; null before the first. */
    async last (): Promise<KeyCensus | null> {
      return JSON.parse((await redis.get(keys.keyCensus)) ?? 'null') as KeyCensus | null
    }
  }
}

export type KeyCensusStore = ReturnType<typeof createKeyCensus>

/** When a build was made, from its id (a ULID); an id that is none counts as made now. */
function madeAt (buildId: string, now: number): number {
  try {
    return decodeTime(buildId)
  } catch {
    return now
  }
}
