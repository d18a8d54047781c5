import type { Redis } from 'ioredis'
import { gzippedJson } from './gzipped-json.js'
import type { RedisKeys } from './keys.js'

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
  const values = gzippedJson(redis)
  return {
    get: <Facts>(lineage: string) => values.get<Facts>(keys.cacheFacts(lineage)),
    set: (lineage: string, facts: unknown) => values.set(keys.cacheFacts(lineage), facts, ttl)
  }
}

export type CacheFacts = ReturnType<typeof createCacheFacts>
