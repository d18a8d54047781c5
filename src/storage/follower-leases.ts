import { randomUUID } from 'node:crypto'
import type { Redis } from 'ioredis'
import { withCommands } from './redis-commands.js'
import { quotaExceeded } from '../domain/quotas.js'
import type { Actor } from '../domain/schemas/audit.js'
import type { RedisKeys } from './keys.js'

// Open log follows, counted per token across every API process as leases in Redis: a sorted set
// per token of lease ids, scored by when each expires. A process refreshes the leases of its open
// follows and removes each when its follow ends; the leases of a process that died expire by
// themselves. Times are Redis's own clock, so the API hosts' clocks need not agree.
const LEASE_TTL_MS = 30_000

// A lease is taken, at most `limit` per token, by commands/acquireFollowerLease-1.lua and kept by
// commands/refreshFollowerLeases-1.lua.

/** Leases on open log follows, at most `limit` per token at once; `ttlMs` is for tests. */
export function createFollowerLeases (deps: { redis: Redis; keys: RedisKeys; limit: number; ttlMs?: number }) {
  const { keys, limit } = deps
  const redis = withCommands(deps.redis)
  const ttlMs = deps.ttlMs ?? LEASE_TTL_MS
  // This process's leases: lease id → the token's id.
  const held = new Map<string, string>()
  let timer: NodeJS.Timeout | null = null

  /** Extends every lease this process holds, one script per token, in one round trip. */
  async function refresh (): Promise<void> {
    const byActor = new Map<string, string[]>()
    for (const [lease, actorId] of held) byActor.set(actorId, [...(byActor.get(actorId) ?? []), lease])
    // A missed refresh is made good by the next one, well before the leases expire.
    await Promise.all([...byActor].map(([actorId, leases]) => redis.refreshFollowerLeases(keys.followerLeases(actorId), ttlMs, ...leases))).catch(() => undefined)
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
      if ((await redis.acquireFollowerLease(keys.followerLeases(actor.id), lease, ttlMs, limit)) !== 1) throw quotaExceeded('quotaLogFollowers', limit, actor)
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
