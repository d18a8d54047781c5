import type { Redis } from 'ioredis'
import type { RedisKeys } from './keys.js'
import { decodeHash, encodeHash } from './redis-hash.js'
import type { Actor } from '../domain/schemas/audit.js'
import type { Trigger, TriggerProvider } from '../domain/schemas/trigger.js'

/**
 * A rule as stored: the resource plus its secret, which no answer shows again, and the key events
 * find it by. Rules stored before they recorded their authors' push patterns lack those.
 */
export interface StoredTrigger extends Omit<Trigger, 'secret' | 'eventsUrl' | 'pushAllow' | 'pushAllowFrom' | 'events' | 'pushPullRequests'> {
  secret: string
  repoKey: string
  /** Rules stored before they built pull requests lack these: pushes only. */
  events?: Trigger['events']
  pushPullRequests?: boolean
  pushAllow?: Trigger['pushAllow']
  pushAllowFrom?: Trigger['pushAllowFrom']
  /** Who made or last changed the rule: its builds use the secrets this token may. Rules stored before lack it (then createdBy). */
  author?: Actor
}

/** Trigger rules, one Redis hash each, indexed by provider and repository for the event endpoints. */
export function createTriggerStore (redis: Redis, keys: RedisKeys) {
  async function get (id: string): Promise<StoredTrigger | null> {
    return decodeHash<StoredTrigger>(await redis.hgetall(keys.trigger(id)))
  }

  async function getMany (ids: string[]): Promise<StoredTrigger[]> {
    const pipeline = redis.pipeline()
    for (const id of ids) pipeline.hgetall(keys.trigger(id))
    const hashes = (await pipeline.exec()) ?? []
    return hashes.flatMap(([error, hash]) => (error ? [] : (decodeHash<StoredTrigger>(hash as Record<string, string>) ?? [])))
  }

  return {
    get,

    async create (trigger: StoredTrigger): Promise<void> {
      await redis
        .multi()
        .hset(keys.trigger(trigger.id), encodeHash(trigger))
        .zadd(keys.allTriggers, 0, trigger.id)
        .sadd(keys.triggersByRepo(trigger.provider, trigger.repoKey), trigger.id)
        .exec()
    },

    /** Every rule, oldest first; there are tens, not millions. */
    async list (): Promise<StoredTrigger[]> {
      return getMany(await redis.zrangebylex(keys.allTriggers, '-', '+'))
    },

    /** The rules of a provider for any of these repository keys (an event names its repository several ways). */
    async forRepo (provider: TriggerProvider, repoKeys: string[]): Promise<StoredTrigger[]> {
      const ids = await redis.sunion(...repoKeys.map((key) => keys.triggersByRepo(provider, key)))
      return getMany(ids.sort())
    },

    /** Changes the given fields of an existing rule; false when there is none. Provider and repository never change. */
    async update (id: string, fields: Partial<Omit<StoredTrigger, 'id' | 'provider' | 'repo' | 'repoKey' | 'createdAt'>>): Promise<boolean> {
      if (!(await redis.exists(keys.trigger(id)))) return false
      await redis.hset(keys.trigger(id), encodeHash({ ...fields, updatedAt: new Date().toISOString() }))
      return true
    },

    async remove (id: string): Promise<boolean> {
      const trigger = await get(id)
      if (!trigger) return false
      await redis
        .multi()
        .del(keys.trigger(id))
        .zrem(keys.allTriggers, id)
        .srem(keys.triggersByRepo(trigger.provider, trigger.repoKey), id)
        .exec()
      return true
    }
  }
}

export type TriggerStore = ReturnType<typeof createTriggerStore>
