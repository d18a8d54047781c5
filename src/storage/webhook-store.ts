import type { Redis } from 'ioredis'
import type { RedisKeys } from './keys.js'
import { decodeHash, encodeHash } from './redis-hash.js'
import { withCreator } from '../domain/schemas/audit.js'
import type { Webhook } from '../domain/schemas/webhook.js'

/** A signing secret; an old one keeps signing alongside its successor until it expires. */
export interface SigningSecret {
  value: string
  expiresAt: string | null
}

/** A global subscription as stored: the resource plus its secrets, which no answer shows again. */
export interface StoredWebhook extends Omit<Webhook, 'secret'> {
  secrets: SigningSecret[]
}

/** Global webhook subscriptions, one Redis hash each. */
export function createWebhookStore (redis: Redis, keys: RedisKeys) {
  async function create (webhook: StoredWebhook): Promise<void> {
    await redis.multi().hset(keys.webhook(webhook.id), encodeHash(webhook)).zadd(keys.allWebhooks, 0, webhook.id).exec()
  }

  async function get (id: string): Promise<StoredWebhook | null> {
    return decodeHash<StoredWebhook>(await redis.hgetall(keys.webhook(id)))
  }

  /** Every subscription, oldest first; there are tens, not millions. */
  async function list (): Promise<StoredWebhook[]> {
    const ids = await redis.zrangebylex(keys.allWebhooks, '-', '+')
    const pipeline = redis.pipeline()
    for (const id of ids) pipeline.hgetall(keys.webhook(id))
    const hashes = (await pipeline.exec()) ?? []
    return hashes.flatMap(([error, hash]) => (error ? [] : (decodeHash<StoredWebhook>(hash as Record<string, string>) ?? [])))
  }

  /** Changes the given fields of an existing subscription; false when there is none. */
  async function update (id: string, fields: Partial<Omit<StoredWebhook, 'id' | 'createdAt'>>): Promise<boolean> {
    if (!(await redis.exists(keys.webhook(id)))) return false
    await redis.hset(keys.webhook(id), encodeHash({ ...fields, updatedAt: new Date().toISOString() }))
    return true
  }

  async function remove (id: string): Promise<boolean> {
    const [[, removed] = [null, 0]] = (await redis.multi().del(keys.webhook(id)).zrem(keys.allWebhooks, id).exec()) ?? []
    return removed === 1
  }

  return { create, get, list, update, remove }
}

export type WebhookStore = ReturnType<typeof createWebhookStore>

/** The secrets that still sign, newest first. */
export function liveSecrets (secrets: SigningSecret[], now = Date.now()): string[] {
  return secrets.filter((secret) => secret.expiresAt === null || Date.parse(secret.expiresAt) > now).map((secret) => secret.value)
}

/** The resource as answers show it. */
export function toWebhookResource (stored: StoredWebhook): Webhook {
  const { secrets: _secrets, ...resource } = stored
  return withCreator(resource)
}
