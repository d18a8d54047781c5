import { createHash, randomBytes, timingSafeEqual } from 'node:crypto'
import type { Redis } from 'ioredis'
import { monotonicFactory } from 'ulid'
import type { RedisKeys } from '../builds/keys.js'

export const SCOPES = ['builds:read', 'builds:write', 'webhooks:admin', 'admin'] as const
export type Scope = (typeof SCOPES)[number]

/** A token as stored and listed: never the token itself, only the hash it is found by. */
export interface TokenRecord {
  id: string
  name: string
  scopes: Scope[]
  createdAt: string
}

/** Who a request is: a stored token, or the configured admin token. */
export interface Principal {
  tokenId: string
  name: string
  scopes: Scope[]
}

const newId = monotonicFactory()
const hashOf = (token: string) => createHash('sha256').update(token).digest('hex')

/** `admin` holds every scope; otherwise a scope is held by name. */
export function holds(principal: Principal, scope: Scope): boolean {
  return principal.scopes.includes('admin') || principal.scopes.includes(scope)
}

/**
 * API tokens: 256 random bits, shown once when made, kept only as their SHA-256 (enough for a
 * secret this long: there is nothing to guess). One GET finds a token by its hash.
 */
export function createTokenStore(redis: Redis, keys: RedisKeys) {
  return {
    async create(name: string, scopes: Scope[]): Promise<{ token: string; record: TokenRecord }> {
      const token = `slw_${randomBytes(32).toString('base64url')}`
      const record: TokenRecord = { id: newId(), name, scopes, createdAt: new Date().toISOString() }
      const hash = hashOf(token)
      await redis
        .multi()
        .set(keys.tokenByHash(hash), JSON.stringify(record))
        .hset(keys.token(record.id), { record: JSON.stringify(record), hash })
        .zadd(keys.allTokens, 0, record.id)
        .exec()
      return { token, record }
    },

    async find(token: string): Promise<TokenRecord | null> {
      const found = await redis.get(keys.tokenByHash(hashOf(token)))
      return found ? (JSON.parse(found) as TokenRecord) : null
    },

    async list(): Promise<TokenRecord[]> {
      const ids = await redis.zrangebylex(keys.allTokens, '-', '+')
      const records = await Promise.all(ids.map((id) => redis.hget(keys.token(id), 'record')))
      return records.flatMap((record) => (record ? [JSON.parse(record) as TokenRecord] : []))
    },

    /** Revokes a token at once, everywhere: the next request with it is unauthenticated. */
    async revoke(id: string): Promise<boolean> {
      const hash = await redis.hget(keys.token(id), 'hash')
      if (!hash) return false
      await redis.multi().del(keys.tokenByHash(hash)).del(keys.token(id)).zrem(keys.allTokens, id).exec()
      return true
    }
  }
}

export type TokenStore = ReturnType<typeof createTokenStore>

/** Compares a presented token with the configured admin token in constant time. */
export function isAdminToken(presented: string, adminToken: string): boolean {
  if (!adminToken) return false
  return timingSafeEqual(Buffer.from(hashOf(presented)), Buffer.from(hashOf(adminToken)))
}
