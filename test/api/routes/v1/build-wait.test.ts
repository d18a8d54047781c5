import { Redis } from 'ioredis'
import t, { type Test } from 'tap'
import type { Build } from '../../../../src/domain/schemas/build.js'
import { buildApp } from '../../../helpers/app.js'
import { testConfig } from '../../../helpers/config.js'
import type { Config } from '../../../../src/domain/config.js'
import type { FastifyInstance } from 'fastify'

// GET /v1/builds/{id} with ETags and `wait`, on real Redis without a worker: the tests change
// the records through the build store, as workers and the retention sweeper do.

async function setup (t: Test, config: Config = testConfig(t)) {
  const app = await buildApp(t, config)
  const created = await app.inject({ method: 'POST', url: '/v1/builds', payload: { repo: 'https://git.example.com/team/app.git', image: 'localhost:5000/team/app' } })
  const build = created.json<Build>()
  const get = (query = '', headers: Record<string, string> = {}) => app.inject({ method: 'GET', url: `/v1/builds/${build.id}${query}`, headers })
  return { app, config, build, get }
}

const start = (app: FastifyInstance, id: string) => app.storage.builds.transition(id, { from: ['queued'], to: 'running', set: { startedAt: new Date().toISOString() } })
const finish = (app: FastifyInstance, id: string) =>
  app.storage.builds.transition(id, { from: ['queued', 'running'], to: 'succeeded', set: { finishedAt: new Date().toISOString(), durationMs: 5 } })

t.test('every answer has an ETag that changes with any field; If-None-Match gets 304 with no body', async (t) => {
  const { app, build, get } = await setup(t)
  const first = await get()
  const etag = first.headers.etag as string
  t.match(etag, /^"[A-Za-z0-9_-]{32}"$/, 'a strong ETag')
  t.same(first.json(), build, 'the answer is the build as before')
  const again = await get('', { 'if-none-match': etag })
  t.equal(again.statusCode, 304)
  t.equal(again.body, '', 'no body')
  // A Content-Length on a 304 is taken by some clients (wrk's parser) as a body to wait for.
  t.equal(again.headers['content-length'], undefined, 'nor a length or type of one')
  t.equal(again.headers['content-type'], undefined)
  t.equal(again.headers.etag, etag)
  t.equal((await get('', { 'if-none-match': `"other", W/${etag}` })).statusCode, 304, 'a list, and a weak form, match too')

  // A field other than the status: the cancel flag a running build gets.
  await start(app, build.id)
  const running = await get('', { 'if-none-match': etag })
  t.equal(running.statusCode, 200)
  const runningTag = running.headers.etag as string
  t.not(runningTag, etag)
  await app.storage.builds.transition(build.id, { from: ['running'], to: 'running', set: { cancelRequested: true } })
  const flagged = await get('', { 'if-none-match': runningTag })
  t.equal(flagged.statusCode, 200, 'a change of any field is a new ETag')
  t.equal(flagged.json<Build>().cancelRequested, true)
})

t.test('wait answers when the status changes, or at the end of the wait with the build unchanged', async (t) => {
  const { app, build, get } = await setup(t)
  const began = Date.now()
  const timedOut = await get('?wait=1s')
  t.ok(Date.now() - began >= 950, 'waited the second out')
  t.equal(timedOut.statusCode, 200)
  t.equal(timedOut.json<Build>().status, 'queued')
  t.equal((await get('?wait=1', { 'if-none-match': timedOut.headers.etag as string })).statusCode, 304, 'an unchanged build after the wait: 304')

  const waiting = get('?wait=30s')
  await new Promise((resolve) => setTimeout(resolve, 200))
  const changedAt = Date.now()
  await start(app, build.id)
  const answer = await waiting
  t.ok(Date.now() - changedAt < 500, `answered ${Date.now() - changedAt} ms after the change`)
  t.equal(answer.json<Build>().status, 'running')

  t.equal((await get('?wait=5s&status=queued')).json<Build>().status, 'running', 'a status other than the one named answers at once')
  await finish(app, build.id)
  const ended = Date.now()
  t.equal((await get('?wait=30s')).json<Build>().status, 'succeeded')
  t.ok(Date.now() - ended < 500, 'an ended build answers at once')
})

t.test('refusals of wait', async (t) => {
  const { get } = await setup(t)
  const cases: [string, string][] = [
    ['?wait=61s', 'WAIT_TOO_LONG'],
    ['?wait=2m', 'WAIT_TOO_LONG'],
    ['?wait=61', 'WAIT_TOO_LONG'],
    ['?wait=soon', 'VALIDATION_FAILED'],
    ['?status=running', 'VALIDATION_FAILED'],
    ['?wait=5s&status=done', 'VALIDATION_FAILED']
  ]
  for (const [query, code] of cases) {
    const response = await get(query)
    t.equal(response.statusCode, 400, query)
    t.equal(response.json().code, code, query)
  }
  t.match((await get('?wait=61s')).json().message, /wait 61s is longer than a GET of a build may wait \(60 s\)/, 'says the most it may be')
})

t.test('many waiters on one build: one subscription for the process, all answered on the change', async (t) => {
  const { app, config, build, get } = await setup(t)
  const waiters = Array.from({ length: 300 }, () => get('?wait=30s'))
  const redis = new Redis(config.redisUrl)
  t.teardown(() => redis.disconnect())
  // Every waiter has subscribed (or not) once the first has.
  for (let i = 0; i < 100; i++) {
    const [, subscribers] = (await redis.pubsub('NUMSUB', `${config.prefix}:changes:builds`)) as [string, number]
    if (subscribers > 0) break
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
  await new Promise((resolve) => setTimeout(resolve, 300))
  const [, subscribers] = (await redis.pubsub('NUMSUB', `${config.prefix}:changes:builds`)) as [string, number]
  t.equal(subscribers, 1, 'one subscription')
  const clients = String(await redis.client('LIST')).split('\n').filter((line) => line.includes(`name=${config.prefix}:api:build-changes`))
  t.equal(clients.length, 1, 'one connection for it')
  const changedAt = Date.now()
  await start(app, build.id)
  const answers = await Promise.all(waiters)
  t.ok(Date.now() - changedAt < 1000, `all answered ${Date.now() - changedAt} ms after the change`)
  t.ok(answers.every((answer) => answer.json<Build>().status === 'running'))
})

t.test("an ended build's kept answer goes when its record changes or is removed, on any API process", async (t) => {
  const config = testConfig(t, { retention: '1d' })
  const { app, build, get } = await setup(t, config)
  const other = await buildApp(t, config)
  await finish(app, build.id)
  // The first GET starts the subscription; once it is in place, answers are kept.
  await get('?wait=0s')
  const kept = await get()
  t.ok(app.buildAnswers.keptBytes > 0, 'the ended build is kept')
  t.equal((await get()).headers.etag, kept.headers.etag)

  // An ended build's log is removed before its record: the record says so, as soon as the
  // change's message reaches this process (a few ms; the loop allows a busy machine a second).
  t.ok(await other.storage.buildLogs.expire(build.id, new Date()))
  let afterLog = await get()
  for (let tries = 0; tries < 100 && afterLog.json<Build>().logExpiredAt === null; tries++) {
    await new Promise((resolve) => setTimeout(resolve, 10))
    afterLog = await get()
  }
  t.not(afterLog.json<Build>().logExpiredAt, null, 'a change after the build ended is seen')
  t.not(afterLog.headers.etag, kept.headers.etag)

  // Removed by the retention sweeper on another process.
  await get()
  t.ok(app.buildAnswers.keptBytes > 0)
  const [candidate] = await other.storage.builds.oldest(Date.now() + 1000, undefined, 10)
  t.ok(candidate && (await other.storage.builds.expire(candidate, Date.now())))
  await new Promise((resolve) => setTimeout(resolve, 100))
  const gone = await get()
  t.equal(gone.statusCode, 410)
  t.equal(gone.json().code, 'BUILD_EXPIRED')
  t.equal(app.buildAnswers.keptBytes, 0)
})

t.test('SLIPWAY_BUILD_ANSWER_CACHE_BYTES bounds what is kept', async (t) => {
  const { app, build, get } = await setup(t, testConfig(t, { buildAnswerCacheBytes: 100 }))
  await finish(app, build.id)
  await get('?wait=0s')
  t.equal((await get()).statusCode, 200)
  t.equal(app.buildAnswers.keptBytes, 0, 'an answer larger than the bound is not kept')
})
