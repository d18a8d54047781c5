import { setTimeout as sleep } from 'node:timers/promises'
import { Redis } from 'ioredis'
import t, { type Test } from 'tap'
import type { FastifyInstance } from 'fastify'
import { buildApp } from '../helpers/app.js'
import { testConfig } from '../helpers/config.js'
import type { Config } from '../../src/domain/config.js'
import { claimBatch } from '../../src/services/token-admission.js'
import { redisKeys } from '../../src/storage/keys.js'
import { tokenHash } from '../../src/storage/token-store.js'

// Two API replicas on one Redis, as production runs them: each keeps the tokens it read for a few
// seconds, so a revocation must reach the other at once, or the revoked token keeps working there.

const bearer = (token: string) => ({ authorization: `Bearer ${token}` })

/** Two API processes, once both listen for revocations (until then each reads every token from Redis). */
async function replicas (config: Config): Promise<[FastifyInstance, FastifyInstance]> {
  const apps: [FastifyInstance, FastifyInstance] = [await buildApp(t, config), await buildApp(t, config)]
  const redis = new Redis(config.redisUrl)
  const listening = await within(5000, 2, async () => ({ statusCode: Number((await redis.pubsub('NUMSUB', `${config.prefix}:events:auth`))[1]) }))
  redis.disconnect()
  if (listening === null) throw new Error('the replicas did not subscribe to revocations')
  return apps
}

async function makeToken (app: FastifyInstance, scopes: string[] = ['builds:read']): Promise<{ id: string; token: string }> {
  const made = await app.inject({ method: 'POST', url: '/v1/tokens', payload: { name: 'replicated', scopes } })
  return made.json<{ id: string; token: string }>()
}

const list = (app: FastifyInstance, token: string, remoteAddress = '198.51.100.1') => app.inject({ method: 'GET', url: '/v1/builds', headers: bearer(token), remoteAddress })

/**
 * Has `app` read the token and hold a spare slot of its rate limit, so that its next request is
 * answered from memory alone: the first request claims one slot, the second two.
 */
async function warm (t: Test, app: FastifyInstance, token: string, remoteAddress?: string): Promise<void> {
  for (let n = 0; n < 2; n++) t.equal((await list(app, token, remoteAddress)).statusCode, 200, 'the token works')
}

/** Asks until the answer is `status`, every 10 ms for at most `ms`; how long it took, or null. */
async function within (ms: number, status: number, ask: () => Promise<{ statusCode: number }>): Promise<number | null> {
  const started = performance.now()
  while (performance.now() - started <= ms) {
    if ((await ask()).statusCode === status) return performance.now() - started
    await sleep(10)
  }
  return null
}

/** Deletes a token's record behind Slipway's back: nothing is announced, as a naive revocation would do. */
async function deleteSilently (config: Config, token: string): Promise<void> {
  const redis = new Redis(config.redisUrl)
  await redis.del(`${config.prefix}:tokenhash:${tokenHash(token)}`)
  redis.disconnect()
}

t.test('a token revoked on one replica is refused on the other within a second, though the other had it cached', async (t) => {
  const config = testConfig(t, { tokenCacheSeconds: 60 })
  const [a, b] = await replicas(config)
  const { id, token } = await makeToken(a)
  await warm(t, b, token)

  // B answers from its cache: a deletion nobody announces is not seen there. This is the attack a
  // cache without announcements allows; the real revocation below must not.
  const other = await makeToken(a)
  await warm(t, b, other.token)
  await deleteSilently(config, other.token)
  t.equal((await list(b, other.token)).statusCode, 200, 'an unannounced deletion: B still trusts its copy')

  t.equal((await a.inject({ method: 'DELETE', url: `/v1/tokens/${id}` })).statusCode, 204)
  // One try only: a 200 would spend B's spare slot, and the next try would read Redis anyway.
  await sleep(1000)
  const second = await list(b, token)
  t.equal(second.statusCode, 401, 'one second after revocation, B answers 401')
  t.equal(second.json().code, 'UNAUTHENTICATED')
  t.equal((await list(a, token)).statusCode, 401, 'and so does A')
})

t.test('while a replica cannot hear revocations, it reads every token from Redis', async (t) => {
  const config = testConfig(t, { tokenCacheSeconds: 60 })
  const [a, b] = await replicas(config)
  const { token } = await makeToken(a)
  await warm(t, b, token)

  // Cut both replicas' subscriptions; each reconnects by itself, and whatever was announced in
  // between is lost, so what they cached before must not be trusted.
  const redis = new Redis(config.redisUrl)
  t.teardown(() => redis.disconnect())
  const subscribers = async () =>
    String(await redis.call('CLIENT', 'LIST', 'TYPE', 'pubsub'))
      .split('\n')
      .filter((line) => line.includes(` name=${config.prefix}:api:auth-events `))
      .map((line) => /^id=(\d+)/.exec(line)![1]!)
  const before = await subscribers()
  t.equal(before.length, 2, 'one subscription per replica')
  for (const client of before) await redis.call('CLIENT', 'KILL', 'ID', client)
  await deleteSilently(config, token)
  const back = await within(5000, 2, async () => ({ statusCode: (await subscribers()).filter((id) => !before.includes(id)).length }))
  t.not(back, null, 'both subscribe again by themselves')
  t.equal((await list(b, token)).statusCode, 401, 'B read the token again, and found it gone')
})

t.test('an address held back for guessing on one replica is held back on the other, valid tokens included', async (t) => {
  const config = testConfig(t, { tokenCacheSeconds: 60, authFailuresPerMinute: 5 })
  const [a, b] = await replicas(config)
  const { token } = await makeToken(a)
  await warm(t, b, token, '198.51.100.7')
  for (let n = 0; n < 5; n++) t.equal((await list(a, `slw_guess-${n}-${'x'.repeat(30)}`, '203.0.113.9')).statusCode, 401)
  await sleep(1000)
  t.equal((await list(b, token, '203.0.113.9')).statusCode, 429, "a second later, B refuses the guesser's valid token too: no oracle")
  t.equal((await list(b, token, '198.51.100.7')).statusCode, 200, 'other addresses go on')
})

t.test('the rate limit across two replicas: never more than the limit, refused at most (replicas-1)x(batch-1) early', async (t) => {
  const LIMIT = 40
  const BATCH = 5
  const config = testConfig(t, { rateLimitPerMinute: LIMIT, rateLimitBatch: BATCH })
  const [a, b] = await replicas(config)
  const { token } = await makeToken(a)
  let admitted = 0
  const remaining: number[] = []
  const send = async (app: FastifyInstance) => {
    const answer = await list(app, token)
    if (answer.statusCode === 200) {
      admitted++
      remaining.push(Number(answer.headers['x-ratelimit-remaining']))
    } else t.equal(answer.statusCode, 429)
    return answer.statusCode
  }
  for (let n = 0; n < 11; n++) await send(n % 2 === 0 ? a : b)
  while ((await send(b)) === 200);
  t.ok(admitted >= LIMIT - (BATCH - 1) && admitted <= LIMIT, `B refused only when ${admitted} of ${LIMIT} were made`)
  while ((await send(a)) === 200);
  t.equal(admitted, LIMIT, 'A used the slots it held: every request of the limit, and not one more')
  t.equal((await send(b)), 429)
  t.ok(remaining.every((left) => left >= 0 && left < LIMIT), 'x-ratelimit-remaining stays within the limit')
  t.equal(Math.min(...remaining), 0, 'and reaches 0 with the last request allowed')
})

t.test('with no batch set, claims grow to 1% of the limit (at least 10, at most 1,000)', async (t) => {
  t.equal(claimBatch(600, 0), 10, 'the default limit keeps claims of up to 10')
  t.equal(claimBatch(5000, 0), 50)
  t.equal(claimBatch(100_000_000, 0), 1000)
  t.equal(claimBatch(100_000_000, 1), 1, 'a batch set is kept: 1 counts every request in Redis')
  t.equal(claimBatch(600, 25), 25)

  // Seen in Redis: 40 requests with a limit of 5,000 claimed 1, 2, 4, 8, 16 and 32 slots (63),
  // where claims of at most 10 would have taken 1, 2, 4, 8, 10, 10 and 10 (45) in seven trips.
  const config = testConfig(t, { rateLimitPerMinute: 5000 })
  const [a] = await replicas(config)
  const { token } = await makeToken(a)
  for (let n = 0; n < 40; n++) t.equal((await list(a, token)).statusCode, 200)
  const redis = new Redis(config.redisUrl)
  t.teardown(() => redis.disconnect())
  t.equal(await redis.get(`${redisKeys(config.prefix).rateLimit}${tokenHash(token)}`), '63', 'six claims, the last of 32')
})
