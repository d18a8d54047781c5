import type { Redis } from 'ioredis'
import { IdempotencyKeyInvalid } from '../domain/errors.js'
import type { RedisKeys } from './keys.js'

// Keys live a day (the IETF httpapi Idempotency-Key draft leaves the window to the server), or
// SLIPWAY_RETENTION if shorter: a key names its build, and outlives it no more than the rest of it.
const KEY_TTL_SECONDS = 86_400

export type Claim = { kind: 'new' } | { kind: 'replay'; buildId: string } | { kind: 'mismatch' }

/**
 * Idempotency-Key for POST /v1/builds: the first request with a key claims it for the build id it
 * will create; a repeat with the same body gets that build, one with another body is refused.
 * The claim is one SET NX, so concurrent repeats agree on a single build. Keys are scoped to the
 * client that sent them (`scope`: its token), so one client can neither replay nor block another's.
 */
export function createIdempotency (redis: Redis, keys: RedisKeys, keepAtMostSeconds = Infinity) {
  const ttl = Math.min(KEY_TTL_SECONDS, keepAtMostSeconds)
  return {
    async claim (scope: string, key: string, bodyFingerprint: string, buildId: string): Promise<Claim> {
      const value = JSON.stringify({ fingerprint: bodyFingerprint, buildId })
      if (await redis.set(keys.idempotency(scope, key), value, 'EX', ttl, 'NX')) return { kind: 'new' }
      const existing = JSON.parse((await redis.get(keys.idempotency(scope, key))) ?? 'null') as { fingerprint: string; buildId: string } | null
      // Expired in between: claim it afresh.
      if (!existing) return this.claim(scope, key, bodyFingerprint, buildId)
      return existing.fingerprint === bodyFingerprint ? { kind: 'replay', buildId: existing.buildId } : { kind: 'mismatch' }
    },
    /** Gives a key back when its request could not be carried out, so the client may try again. */
    async release (scope: string, key: string): Promise<void> {
      await redis.del(keys.idempotency(scope, key))
    }
  }
}

export type Idempotency = ReturnType<typeof createIdempotency>

/** The header's value: a structured-field string ("…") or, leniently, a bare token. */
export function parseIdempotencyKey (header: string): string {
  const value = header.startsWith('"') && header.endsWith('"') && header.length >= 2 ? header.slice(1, -1) : header
  if (!/^[\x20-\x7e]{1,255}$/.test(value) || value.trim() === '') throw new IdempotencyKeyInvalid()
  return value
}
