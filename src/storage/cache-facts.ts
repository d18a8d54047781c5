import { promisify } from 'node:util'
import { gunzip, gzip } from 'node:zlib'
import type { Redis } from 'ioredis'
import type { RedisKeys } from './keys.js'

const zip = promisify(gzip)
const unzip = promisify(gunzip)

// What explains the next build's cache misses is worth keeping as long as its build would be
// compared with: 30 days, or SLIPWAY_RETENTION if shorter.
const FACTS_TTL_SECONDS = 30 * 86_400

/**
 * The facts of the newest build of each lineage (repository, branch, Dockerfile and target), for
 * the next build of it to say why its steps missed the cache. One value per lineage, replaced by
 * each build, so what it costs grows with lineages, not builds: gzipped JSON, since a context's
 * file list (paths and content ids) is most of it. The shape is the worker's.
 */
export function createCacheFacts (redis: Redis, keys: RedisKeys, keepAtMostSeconds = Infinity) {
  const ttl = Math.min(FACTS_TTL_SECONDS, keepAtMostSeconds)
  return {
    async get<Facts> (lineage: string): Promise<Facts | null> {
      const kept = await redis.getBuffer(keys.cacheFacts(lineage))
      return kept === null ? null : (JSON.parse((await unzip(kept)).toString('utf8')) as Facts)
    },
    async set (lineage: string, facts: unknown): Promise<void> {
      await redis.set(keys.cacheFacts(lineage), await zip(JSON.stringify(facts)), 'EX', ttl)
    }
  }
}

export type CacheFacts = ReturnType<typeof createCacheFacts>
