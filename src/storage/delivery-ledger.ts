import { createHash } from 'node:crypto'
import type { Redis } from 'ioredis'
import type { RedisKeys } from './keys.js'
import type { TriggerProvider } from '../domain/schemas/trigger.js'

// A delivery being handled holds a lease: long enough for any handling, short enough that an
// event whose handler died can be sent again. A handled one is remembered a week, longer than
// GitHub and GitLab keep deliveries one can redeliver by hand; or SLIPWAY_RETENTION, if shorter.
const LEASE_SECONDS = 300
const REMEMBER_SECONDS = 7 * 86_400
const PENDING = 'pending'
// How long a repeat arriving while its first is handled waits for the outcome.
const SETTLE_WAIT_MS = 5000

/** What a delivery started, and the matching rules it did not start because they may not push their image. */
export interface HandledDelivery {
  rules: string[]
  builds: { id: string; ruleId: string }[]
  /** Absent in deliveries remembered before rules could be refused. */
  refused?: { ruleId: string; code: string; message: string }[]
}

export type DeliveryClaim = { kind: 'new' } | { kind: 'handled'; handled: HandledDelivery } | { kind: 'pending' }

/** A delivery as the ledger knows it: its provider and id, and the rules whose secrets signed it. */
export interface Delivery {
  provider: TriggerProvider
  id: string
  signers: string[]
}

/**
 * Push event deliveries seen, by provider, signing rules and delivery id, so that a redelivery
 * starts nothing. Delivery ids are the sender's to choose: kept apart by the rules that signed
 * them, a holder of one rule's secret can neither take another rule's delivery id first nor be
 * answered with what it started. The first claims a delivery with one SET NX (one winner across
 * API replicas); it is marked handled only once its builds exist, so a handler that dies in
 * between loses no event: the lease lapses and the event can be sent again.
 */
export function createDeliveryLedger (redis: Redis, keys: RedisKeys, keepAtMostSeconds = Infinity) {
  const rememberSeconds = Math.min(REMEMBER_SECONDS, keepAtMostSeconds)
  const keyOf = (delivery: Delivery) => {
    const signers = createHash('sha256').update([...delivery.signers].sort().join(',')).digest('hex').slice(0, 32)
    return keys.triggerDelivery(delivery.provider, signers, delivery.id)
  }

  async function claim (delivery: Delivery, deadline = Date.now() + SETTLE_WAIT_MS): Promise<DeliveryClaim> {
    const key = keyOf(delivery)
    if (await redis.set(key, PENDING, 'EX', LEASE_SECONDS, 'NX')) return { kind: 'new' }
    const value = await redis.get(key)
    // null: the lease lapsed meanwhile, so it is free again.
    if (value !== null && value !== PENDING) return { kind: 'handled', handled: JSON.parse(value) as HandledDelivery }
    if (value === PENDING && Date.now() > deadline) return { kind: 'pending' }
    if (value === PENDING) await new Promise((resolve) => setTimeout(resolve, 100))
    return claim(delivery, deadline)
  }

  return {
    claim,

    async complete (delivery: Delivery, handled: HandledDelivery): Promise<void> {
      await redis.set(keyOf(delivery), JSON.stringify(handled), 'EX', rememberSeconds)
    },

    /** Gives a delivery back when handling it failed, so sending it again tries again. */
    async release (delivery: Delivery): Promise<void> {
      await redis.del(keyOf(delivery))
    }
  }
}

export type DeliveryLedger = ReturnType<typeof createDeliveryLedger>
