import type { Principal } from '../domain/auth/tokens.js'
import type { AuthEventHandlers } from '../storage/auth-events.js'
import { tokenHash, type TokenCheck } from '../storage/token-store.js'

/**
 * What became of a presented token, in the shape Redis answers a check in; for an admitted token
 * `count` is this request's slot in the token's rate window (the requests made with the token in
 * it, at most; exactly, with one API process) and `resetMs` the time until the window ends.
 */
export type Admission = TokenCheck

/** Slots of a token's rate window that Redis handed to this process: `next` to `last`, until `endsAt`. */
interface Slots {
  next: number
  last: number
  endsAt: number
  /** How many the last claim took; the next claim in the window takes twice as many, up to the batch. */
  claimed: number
}

interface Entry {
  principal: Principal
  /** Until when the principal may be used without asking Redis again. */
  freshUntil: number
  /** The generation it was read in; any revocation, anywhere, starts a new one. */
  generation: number
  slots: Slots | null
}

// Bounds on memory: the tokens kept (the oldest read goes first), and the addresses held back;
// past the latter, the cache is not used at all until they lapse (an attack from many addresses).
const MAX_TOKENS = 10_000
const MAX_HELD_BACK = 10_000

// Without a batch set, a token's claims grow to 1% of its limit, so that a token allowed many
// requests (a CI fleet's poller, a benchmark) is not held up by a round trip to Redis every 10 of
// them, while the error stays a share of the limit: at most 1% per other API process. Never below
// 10, the batch before limits scaled it (for limits under 1,000, so more than 1%), nor above 1,000.
const AUTO_BATCH = { share: 0.01, least: 10, most: 1000 }

/** The most slots one claim takes: the batch set (SLIPWAY_RATE_LIMIT_BATCH), or for 0, 1% of the limit, within 10 to 1,000. */
export function claimBatch (limitPerMinute: number, batchSetting: number): number {
  if (batchSetting > 0) return batchSetting
  return Math.min(AUTO_BATCH.most, Math.max(AUTO_BATCH.least, Math.floor(limitPerMinute * AUTO_BATCH.share)))
}

export interface TokenAdmissionOptions {
  /** Asks Redis (token-store.ts checker): by the token's hash, claiming that many rate slots. */
  check(hash: string, client: string, claim: number): Promise<TokenCheck>
  /** Subscribes to revocations and addresses held back (storage.authEvents). */
  listen(handlers: AuthEventHandlers): { close(): Promise<void> }
  /** How long a token read from Redis is trusted without asking again; 0: always ask. */
  ttlMs: number
  /** The most rate slots one claim takes. */
  batch: number
  now?: () => number
}

/**
 * Lets requests in by their token with as few trips to Redis as it can. A token read from Redis is
 * trusted for `ttlMs`, and only while the subscription to revocations listens: a revocation
 * anywhere, or a lost subscription, makes every token be read again. Unknown tokens are never
 * kept (each is counted against its address in Redis). The rate limit is counted in Redis in
 * claims of slots, 1, 2, 4… up to `batch` a claim within a window, which this process hands out
 * itself; one read of a token at a time, so concurrent requests share it.
 */
export function createTokenAdmission (options: TokenAdmissionOptions) {
  const clock = options.now ?? Date.now
  const entries = new Map<string, Entry>()
  const heldBack = new Map<string, number>()
  const reading = new Map<string, Promise<unknown>>()
  let generation = 0
  let listening = false
  let nextPrune = 0

  const subscription = options.listen({
    onEvent (event) {
      if (event.kind === 'limited') holdBack(event.client, event.ms)
      else generation++
    },
    onListening (now) {
      listening = now
      generation++
    }
  })

  function holdBack (client: string, ms: number): void {
    const now = clock()
    if (heldBack.size >= MAX_HELD_BACK && now >= nextPrune) {
      for (const [address, until] of heldBack) if (until <= now) heldBack.delete(address)
      nextPrune = now + 1000
    }
    if (heldBack.size < MAX_HELD_BACK) heldBack.set(client, now + ms)
  }

  const fresh = (entry: Entry, now: number) => listening && entry.generation === generation && entry.freshUntil > now && heldBack.size < MAX_HELD_BACK

  function take (entry: Entry, now: number): Admission | null {
    const slots = entry.slots
    if (!slots || slots.endsAt <= now || slots.next > slots.last) return null
    return { kind: 'admitted', principal: entry.principal, count: slots.next++, resetMs: slots.endsAt - now }
  }

  /** Reads the token from Redis, claiming slots if none are left; null when the request must try again. */
  async function read (hash: string, client: string, entry: Entry | undefined): Promise<Admission | null> {
    const started = clock()
    const left = entry?.slots && entry.slots.endsAt > started && entry.slots.next <= entry.slots.last ? entry.slots : null
    const windowSlots = entry?.slots && entry.slots.endsAt > started ? entry.slots : null
    const claim = left ? 0 : Math.min(options.batch, windowSlots ? windowSlots.claimed * 2 : 1)
    const readIn = generation
    const answer = await options.check(hash, client, claim)
    if (answer.kind === 'limited') {
      holdBack(client, answer.retryMs)
      return answer
    }
    if (answer.kind === 'unknown') {
      entries.delete(hash)
      return answer
    }
    const now = clock()
    const slots = claim > 0 ? { next: answer.count - claim + 1, last: answer.count, endsAt: now + answer.resetMs, claimed: claim } : (entries.get(hash)?.slots ?? null)
    // Read before a revocation arrived, the entry is stale at once, though its slots still count.
    const updated: Entry = { principal: answer.principal, freshUntil: now + options.ttlMs, generation: readIn, slots }
    if (!entries.has(hash) && entries.size >= MAX_TOKENS) entries.delete(entries.keys().next().value!)
    entries.set(hash, updated)
    // This request was let in by Redis just now, so it takes a slot whatever the entry's freshness.
    return take(updated, now)
  }

  /** What can be said of a token without Redis: held back, or admitted from its slots; null if Redis must be asked. */
  function fromMemory (hash: string, client: string): Admission | null {
    const now = clock()
    const until = heldBack.get(client)
    if (until !== undefined) {
      if (until > now) return { kind: 'limited', retryMs: until - now }
      heldBack.delete(client)
    }
    const entry = entries.get(hash)
    return entry && fresh(entry, now) ? take(entry, now) : null
  }

  /**
   * Admits by asking Redis, for a request fromMemory() could not answer: one read of a token at a
   * time, so concurrent requests share it, and each looks in memory again after waiting for one.
   */
  async function admitFromRedis (hash: string, client: string): Promise<Admission> {
    for (;;) {
      const pending = reading.get(hash)
      if (pending) {
        await pending
      } else {
        const attempt = read(hash, client, entries.get(hash))
        reading.set(hash, attempt.catch(() => undefined))
        try {
          const admission = await attempt
          if (admission) return admission
        } finally {
          reading.delete(hash)
        }
      }
      const local = fromMemory(hash, client)
      if (local) return local
    }
  }

  return {
    /**
     * Admits a request presenting `token` from `client` (an address, see clientOf): at once when
     * no answer from Redis is needed (the common case, a token in use), else once Redis has answered.
     */
    admit (token: string, client: string): Admission | Promise<Admission> {
      // Kept by hash: the token itself is not held once this call returns.
      const hash = tokenHash(token)
      return fromMemory(hash, client) ?? admitFromRedis(hash, client)
    },

    /**
     * A revocation this process made: its announcement comes back here too, but the next request
     * must not be able to overtake it.
     */
    revoked (): void {
      generation++
    },

    close: () => subscription.close()
  }
}

export type TokenAdmission = ReturnType<typeof createTokenAdmission>
