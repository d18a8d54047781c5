import t from 'tap'
import type { Principal } from '../../src/domain/auth/tokens.js'
import { createTokenAdmission } from '../../src/services/token-admission.js'
import type { AuthEventHandlers } from '../../src/storage/auth-events.js'
import type { TokenCheck } from '../../src/storage/token-store.js'

// The rate limit's slots, drawn from a Redis stand-in that answers when the test says: a busy
// token must not stop every request each time its slots run out, waiting on the next claim.

const principal: Principal = { tokenId: 'tok', name: 'busy', scopes: ['builds:read'], pushAllow: null, createdAt: null }

function redisStandIn () {
  let count = 0
  const held: Array<() => void> = []
  const claims: number[] = []
  return {
    claims,
    /** Answers every claim made since, in order. */
    release: () => held.splice(0).forEach((answer) => answer()),
    check: (_hash: string, _client: string, claim: number) =>
      new Promise<TokenCheck>((resolve) => {
        claims.push(claim)
        held.push(() => {
          count += claim
          resolve({ kind: 'admitted', principal, count, resetMs: 60_000 })
        })
      })
  }
}

/** Revocations as a process that hears them from the start would: none come. */
function listening (handlers: AuthEventHandlers): { close(): Promise<void> } {
  handlers.onListening(true)
  return { close: async () => {} }
}

/** Whether the promise has settled within a few turns of the event loop. */
async function settled (promise: Promise<unknown>): Promise<boolean> {
  let done = false
  void promise.then(() => (done = true))
  for (let turn = 0; turn < 5; turn++) await new Promise((resolve) => setImmediate(resolve))
  return done
}

t.test('a busy token is admitted from memory while its next claim is out, and the two claims never overlap', async (t) => {
  const redis = redisStandIn()
  const admission = createTokenAdmission({ check: redis.check, listen: listening, ttlMs: 60_000, batch: 4 })
  const admit = () => admission.admit('token', '198.51.100.1')
  const counts: number[] = []
  const admitted = async (promise: Promise<Awaited<ReturnType<typeof admit>>>) => {
    const answer = await promise
    if (answer.kind !== 'admitted') throw new Error(`not admitted: ${answer.kind}`)
    counts.push(answer.count)
  }
  // Claims of 1, 2 then 4 (the batch): slots 1 to 7; the 4th request takes slot 4 of 4..7.
  for (let n = 1; n <= 4; n++) {
    const pending = admitted(admit())
    redis.release()
    await pending
  }
  t.same(redis.claims, [1, 2, 4], 'the claims grow to the batch')
  // Slot 5 leaves two of the batch (half of it): the next claim goes out now, not when they run out.
  await admitted(admit())
  t.same(redis.claims, [1, 2, 4, 4], 'the next claim is made while half the batch is left')
  const sixth = admitted(admit())
  const seventh = admitted(admit())
  t.ok((await settled(sixth)) && (await settled(seventh)), 'requests meanwhile are admitted from the slots left, without waiting for it')
  const eighth = admitted(admit())
  t.notOk(await settled(eighth), 'once they are used up, a request waits for the claim already out')
  t.same(redis.claims, [1, 2, 4, 4], 'and makes none of its own')
  redis.release()
  await eighth
  t.same(counts, [1, 2, 3, 4, 5, 6, 7, 8], 'every slot is handed out once, in order')
})

t.test('with a batch of 1 the count stays exact: nothing is claimed ahead', async (t) => {
  const redis = redisStandIn()
  const admission = createTokenAdmission({ check: redis.check, listen: listening, ttlMs: 60_000, batch: 1 })
  for (let n = 1; n <= 5; n++) {
    const pending = admission.admit('token', '198.51.100.1')
    redis.release()
    await pending
  }
  t.same(redis.claims, [1, 1, 1, 1, 1], 'one slot claimed per request, when it is made')
})
