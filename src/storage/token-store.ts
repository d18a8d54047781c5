import { hash, randomBytes, timingSafeEqual } from 'node:crypto'
import type { Redis } from 'ioredis'
import type { AuditLog } from './audit-log.js'
import type { AuthEvent } from './auth-events.js'
import type { RedisKeys } from './keys.js'
import { checkPushPatterns } from '../domain/builds/push-allow.js'
import { newId } from '../domain/ids.js'
import { withCreator, type Actor } from '../domain/schemas/audit.js'
import { withCommands } from './redis-commands.js'
import type { Principal, Scope, TokenRecord } from '../domain/auth/tokens.js'

/** What a token is found and counted by (its SHA-256, hex): the token itself is never kept. */
// crypto.hash, one call with no Hash object: the hash is taken for every request to the API.
export const tokenHash = (token: string) => hash('sha256', token, 'hex')

// A presented token is checked in one round trip (commands/admitToken.lua): first the count of
// unknown tokens from its client's address, then its record, then a claim of slots in its rate
// window. Revocations and addresses held back are announced on keys.authEvents (auth-events.ts).

/** What Redis said of a presented token. */
export type TokenCheck =
  /** Known: who it is, and where its rate window stands after this check's claim. */
  | {
    kind: 'admitted'
    principal: Principal
    /** The token's count in the current window, the slots just claimed included (0 when none were). */
    count: number
    /** Milliseconds until the window ends and the count starts again (0 when no slot was claimed). */
    resetMs: number
  }
  /** Not a token Slipway knows (counted against the client's address). */
  | { kind: 'unknown' }
  /** Not checked: the client's address presented too many unknown tokens this window. */
  | { kind: 'limited'; retryMs: number }

const ADMIN: Principal = { tokenId: 'admin', name: 'SLIPWAY_ADMIN_TOKEN', scopes: ['admin'], pushAllow: null, createdAt: null }
const principalOf = (record: TokenRecord): Principal => ({ tokenId: record.id, name: record.name, scopes: record.scopes, pushAllow: record.pushAllow ?? null, createdAt: record.createdAt })

/** A record as stored, with the fields older records lack. */
const withDefaults = (record: TokenRecord): TokenRecord => withCreator({ ...record, pushAllow: record.pushAllow ?? null })

/**
 * API tokens: 256 random bits, shown once when made, kept only as their SHA-256 (enough for a
 * secret this long: there is nothing to guess). One GET finds a token by its hash.
 */
export function createTokenStore (connection: Redis, keys: RedisKeys, audit: AuditLog) {
  const redis = withCommands(connection)
  return {
    /** A new token; PUSH_PATTERN_INVALID for a bad push pattern. */
    async create (name: string, scopes: Scope[], pushAllow: string[] | null, createdBy: Actor): Promise<{ token: string; record: TokenRecord }> {
      if (pushAllow !== null) checkPushPatterns(pushAllow)
      const token = `slw_${randomBytes(32).toString('base64url')}`
      const record: TokenRecord = { id: newId(), name, scopes, pushAllow, createdAt: new Date().toISOString(), createdBy }
      const hash = tokenHash(token)
      await redis
        .multi()
        .set(keys.tokenByHash(hash), JSON.stringify(record))
        .hset(keys.token(record.id), { record: JSON.stringify(record), hash })
        .zadd(keys.allTokens, 0, record.id)
        .exec()
      await audit.record({ actor: createdBy, action: 'token.create', kind: 'token', resourceId: record.id, summary: `'${name}' with ${scopes.join(', ')}${pushAllow === null ? '' : `, pushing to ${pushAllow.join(', ') || 'nothing'}`}` })
      return { token, record }
    },

    /**
     * Checks tokens by their hash (tokenHash), claiming `claim` slots of the token's rate limit
     * over `windowMs` (0: none), and counts each unknown token against its client (an address, see
     * clientOf) with at most `failuresPerWindow` a window. The admin token is known without a lookup.
     */
    checker (adminToken: string, limits: { windowMs: number; failuresPerWindow: number }): (hash: string, client: string, claim: number) => Promise<TokenCheck> {
      const adminHash = adminToken ? Buffer.from(tokenHash(adminToken)) : null
      return async (hash, client, claim) => {
        // Compared by hash, in constant time.
        const admin = adminHash !== null && timingSafeEqual(Buffer.from(hash), adminHash)
        const scriptKeys = [keys.authFailures(client), ...(admin ? [`${keys.rateLimit}admin`] : [`${keys.rateLimit}${hash}`, keys.tokenByHash(hash)])]
        const answer = await redis.admitToken(scriptKeys.length, ...scriptKeys, limits.windowMs, limits.failuresPerWindow, claim, keys.authEvents, client)
        if (answer[0] === 'limited') return { kind: 'limited', retryMs: answer[1] }
        if (answer[0] === 'unknown') return { kind: 'unknown' }
        const [, record, count, resetMs] = answer
        return { kind: 'admitted', principal: admin ? ADMIN : principalOf(JSON.parse(record) as TokenRecord), count, resetMs }
      }
    },

    async list (): Promise<TokenRecord[]> {
      const ids = await redis.zrangebylex(keys.allTokens, '-', '+')
      const records = await Promise.all(ids.map((id) => redis.hget(keys.token(id), 'record')))
      return records.flatMap((record) => (record ? [withDefaults(JSON.parse(record) as TokenRecord)] : []))
    },

    /**
     * Revokes a token at once, everywhere: the next request with it is unauthenticated. The same
     * transaction announces it, so every API process drops what its token cache holds.
     */
    async revoke (id: string, actor: Actor): Promise<boolean> {
      const hash = await redis.hget(keys.token(id), 'hash')
      if (!hash) return false
      const revoked: AuthEvent = { kind: 'revoked', tokenId: id }
      await redis.multi().del(keys.tokenByHash(hash)).del(keys.token(id)).zrem(keys.allTokens, id).publish(keys.authEvents, JSON.stringify(revoked)).exec()
      await audit.record({ actor, action: 'token.revoke', kind: 'token', resourceId: id, summary: 'revoked' })
      return true
    }
  }
}

export type TokenStore = ReturnType<typeof createTokenStore>
