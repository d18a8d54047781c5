import { randomUUID } from 'node:crypto'
import type { Redis } from 'ioredis'
import { luaScript } from './redis.js'
import { quotaExceeded } from '../domain/quotas.js'
import type { Actor } from '../domain/schemas/audit.js'
import type { RedisKeys } from './keys.js'

// Open log follows, counted per token across every API process as leases in Redis: a sorted set
// per token of lease ids, scored by when each expires. A process refreshes the leases of its open
// follows and removes each when its follow ends; the leases of a process that died expire by
// themselves. Times are Redis's own clock, so the API hosts' clocks need not agree.
const LEASE_TTL_MS = 30_000

// KEYS[1]: the token's leases. ARGV: the new lease's id, the time to live in ms, the limit.
// Expired leases are dropped first; returns 0, adding nothing, at the limit.
const acquireScript = luaScript(`
local time = redis.call('TIME')
local now = time[1] * 1000 + math.floor(time[2] / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[3]) then return 0 end
redis.call('ZADD', KEYS[1], now + ARGV[2], ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
`)

// KEYS[1]: a token's leases. ARGV: the time to live in ms, then the ids of the leases to extend.
// A lease that expired meanwhile (Redis was away) is added again: its follow is still open.
const refreshScript = luaScript(`
local time = redis.call('TIME')
local expires = time[1] * 1000 + math.floor(time[2] / 1000) + ARGV[1]
for i = 2, #ARGV do redis.call('ZADD', KEYS[1], expires, ARGV[i]) end
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return 1
`)

/** Leases on open log follows, at most `limit` per token at once; `ttlMs` is for tests. */
export function createFollowerLeases (deps: { redis: Redis; keys: RedisKeys; limit: number; ttlMs?: number }) {
  const { redis, keys, limit } = deps
  const ttlMs = deps.ttlMs ?? LEASE_TTL_MS
  // This process's leases: lease id → the token's id.
  const held = new Map<string, string>()
  let timer: NodeJS.Timeout | null = null

  /** Extends every lease this process holds, one script per token, in one round trip. */
  async function refresh (): Promise<void> {
    const byActor = new Map<string, string[]>()
    for (const [lease, actorId] of held) byActor.set(actorId, [...(byActor.get(actorId) ?? []), lease])
    // A missed refresh is made good by the next one, well before the leases expire.
    await Promise.all([...byActor].map(([actorId, leases]) => refreshScript(redis, [keys.followerLeases(actorId)], [ttlMs, ...leases]))).catch(() => undefined)
  }

  async function release (lease: string, actorId: string): Promise<void> {
    if (!held.delete(lease)) return
    if (held.size === 0 && timer) {
      clearInterval(timer)
      timer = null
    }
    // Not removed (Redis is away): it expires.
    await redis.zrem(keys.followerLeases(actorId), lease).catch(() => undefined)
  }

  return {
    /**
     * A lease on one more open follow for `actor`; throws QUOTA_EXCEEDED when it holds its
     * limit. Resolves to the lease's release, which may be called more than once.
     */
    async acquire (actor: Actor): Promise<() => Promise<void>> {
      const lease = randomUUID()
      if ((await acquireScript(redis, [keys.followerLeases(actor.id)], [lease, ttlMs, limit])) !== 1) throw quotaExceeded('quotaLogFollowers', limit, actor)
      held.set(lease, actor.id)
      timer ??= setInterval(() => { void refresh() }, ttlMs / 3).unref()
      return () => release(lease, actor.id)
    },

    /** Releases every lease this process still holds. */
    async close (): Promise<void> {
      await Promise.all([...held].map(([lease, actorId]) => release(lease, actorId)))
    }
  }
}

export type FollowerLeases = ReturnType<typeof createFollowerLeases>
