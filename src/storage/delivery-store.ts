import type { Redis } from 'ioredis'
import type { RedisKeys } from './keys.js'
import { decodeHash, encodeHash } from './redis-hash.js'
import { withCommands } from './redis-commands.js'
import type { Delivery, DeliveryAttempt } from '../domain/schemas/webhook.js'
import type { WebhookFormat } from '../domain/webhooks/event-types.js'

/** Who a delivery goes to: a global subscription, one of the build's own (by position), or the forge the build reports to. */
export type DeliveryTarget = { kind: 'webhook'; webhookId: string } | { kind: 'build'; index: number } | { kind: 'report'; what: 'status' | 'comment' }

/** A delivery as stored: the resource (its type told by its target) plus what every attempt sends again unchanged. */
export interface StoredDelivery extends Omit<Delivery, 'type'> {
  target: DeliveryTarget
  format: WebhookFormat
  /** The JSON body, fixed when the event happened: retries and redeliveries send the same bytes. */
  body: string
}

/** Delivery records, listed per subscription and per build, newest first. */
export function createDeliveryStore (connection: Redis, keys: RedisKeys) {
  const redis = withCommands(connection)
  /** Stores a delivery unless one with its id exists (a repeated fan-out); true when it was new. */
  async function create (delivery: StoredDelivery): Promise<boolean> {
    const created = (await redis.createDelivery(keys.delivery(delivery.id), ...Object.entries(encodeHash(delivery)).flat())) === 1
    if (created) {
      const pipeline = redis.pipeline().zadd(keys.buildDeliveries(delivery.buildId), 0, delivery.id)
      if (delivery.webhookId) pipeline.zadd(keys.webhookDeliveries(delivery.webhookId), 0, delivery.id)
      await pipeline.exec()
    }
    return created
  }

  async function get (id: string): Promise<StoredDelivery | null> {
    return decodeHash<StoredDelivery>(await redis.hgetall(keys.delivery(id)))
  }

  /** Appends an attempt. One job at a time handles a delivery, so read-modify-write is safe. */
  async function recordAttempt (id: string, attempt: DeliveryAttempt, status: Delivery['status']): Promise<void> {
    const attempts = JSON.parse((await redis.hget(keys.delivery(id), 'attempts')) ?? '[]') as DeliveryAttempt[]
    await redis.hset(keys.delivery(id), encodeHash({ attempts: [...attempts, attempt], status }))
  }

  async function setStatus (id: string, status: Delivery['status']): Promise<void> {
    await redis.hset(keys.delivery(id), encodeHash({ status }))
  }

  async function list (index: string, cursor: string | undefined, limit: number): Promise<{ items: StoredDelivery[]; nextCursor: string | null }> {
    const ids = await redis.zrevrangebylex(index, cursor ? `(${cursor}` : '+', '-', 'LIMIT', 0, limit + 1)
    const page = ids.slice(0, limit)
    const pipeline = redis.pipeline()
    for (const id of page) pipeline.hgetall(keys.delivery(id))
    const hashes = (await pipeline.exec()) ?? []
    const items = hashes.flatMap(([error, hash]) => (error ? [] : (decodeHash<StoredDelivery>(hash as Record<string, string>) ?? [])))
    return { items, nextCursor: ids.length > limit ? (page.at(-1) ?? null) : null }
  }

  /**
   * Removes a build's deliveries, each from its subscription's list in the same step, so no list
   * names a delivery that is gone (the retention sweeper, before it removes the build); how many.
   */
  async function forgetBuild (buildId: string): Promise<number> {
    const ids = await redis.zrange(keys.buildDeliveries(buildId), 0, -1)
    if (ids.length === 0) return 0
    const pipeline = redis.pipeline()
    for (const id of ids) pipeline.hget(keys.delivery(id), 'webhookId')
    const owners = ((await pipeline.exec()) ?? []).map(([error, value]) => (error || value === null ? null : (JSON.parse(value as string) as string | null)))
    const removal = redis.multi()
    for (const [i, id] of ids.entries()) {
      const webhookId = owners[i]
      if (webhookId) removal.zrem(keys.webhookDeliveries(webhookId), id)
      removal.del(keys.delivery(id))
    }
    removal.zrem(keys.buildDeliveries(buildId), ...ids)
    await removal.exec()
    return ids.length
  }

  return {
    create,
    get,
    forgetBuild,
    recordAttempt,
    setStatus,
    listForWebhook: (webhookId: string, cursor: string | undefined, limit: number) => list(keys.webhookDeliveries(webhookId), cursor, limit),
    listForBuild: (buildId: string, cursor: string | undefined, limit: number) => list(keys.buildDeliveries(buildId), cursor, limit)
  }
}

export type DeliveryStore = ReturnType<typeof createDeliveryStore>

export function toDeliveryResource (stored: StoredDelivery): Delivery {
  const { target, format: _format, body: _body, ...resource } = stored
  return { ...resource, type: target.kind !== 'report' ? 'webhook' : target.what === 'status' ? 'commit-status' : 'pull-request-comment' }
}
