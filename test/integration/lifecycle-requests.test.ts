import { randomUUID } from 'node:crypto'
import { Queue } from 'bullmq'
import t, { type Test } from 'tap'
import type { Build } from '../../src/domain/schemas/build.js'
import { buildApp } from '../helpers/app.js'
import { testConfig } from '../helpers/config.js'
import { createRepo } from '../helpers/git-repo.js'
import { startRegistry } from '../helpers/registry.js'
import { startSlipway } from '../helpers/slipway.js'

// What callers steer with their requests: idempotency, joining, superseding, retries, priorities.

/** The API alone: builds stay queued, as they would with every worker busy. */
async function apiOnly (t: Test, overrides = {}) {
  const config = testConfig(t, overrides)
  const app = await buildApp(t, config)
  const queue = new Queue('builds', { connection: { url: config.redisUrl }, prefix: config.prefix })
  t.teardown(() => queue.close())
  const post = (payload: object, headers: Record<string, string> = {}) => app.inject({ method: 'POST', url: '/v1/builds', payload, headers })
  return { app, config, queue, post }
}

t.test('Idempotency-Key: one build for every repeat, even concurrent ones; another body is refused', async (t) => {
  const { post, queue } = await apiOnly(t)
  const body = { repo: 'https://git.example.com/team/app.git', ref: 'main' }
  const key = `"${randomUUID()}"`
  const answers = await Promise.all(Array.from({ length: 10 }, () => post(body, { 'idempotency-key': key })))
  t.ok(answers.every((answer) => answer.statusCode === 202))
  const ids = new Set(answers.map((answer) => answer.json<Build>().id))
  t.equal(ids.size, 1, 'ten concurrent requests with one key made one build')
  t.equal(answers.filter((answer) => answer.headers['idempotent-replayed'] === 'true').length, 9, 'nine were replays')
  t.equal(await queue.count(), 1, 'and queued it once')

  const later = await post(body, { 'idempotency-key': key })
  t.equal(later.json<Build>().id, [...ids][0], 'a later repeat gets the same build')
  const other = await post({ ...body, ref: 'develop' }, { 'idempotency-key': key })
  t.equal(other.statusCode, 422)
  t.equal(other.json().code, 'IDEMPOTENCY_KEY_REUSED')
  const bad = await post(body, { 'idempotency-key': '' })
  t.equal(bad.statusCode, 400)
  t.equal(bad.json().code, 'IDEMPOTENCY_KEY_INVALID')
  const invalid = await post({ repo: 'ext::sh' }, { 'idempotency-key': 'k-invalid' })
  t.equal(invalid.statusCode, 400, 'a refused request does not use up its key')
  t.equal((await post(body, { 'idempotency-key': 'k-invalid' })).statusCode, 202)
})

t.test('an identical request joins the build already queued; force makes a new one', async (t) => {
  const { post } = await apiOnly(t)
  const body = { repo: 'https://git.example.com/team/app.git', image: 'localhost:5000/team/app' }
  const first = (await post(body)).json<Build>()
  const again = await post(body)
  t.equal(again.json<Build>().id, first.id)
  t.equal(again.headers['slipway-joined'], 'true')
  t.not((await post({ ...body, tags: ['other'] })).json<Build>().id, first.id, 'a different request is a different build')
  t.not((await post({ ...body, force: true })).json<Build>().id, first.id, 'force builds again')
})

t.test('once the identical build has ended, concurrent repeats make one new build and join it', async (t) => {
  const { app, post, queue } = await apiOnly(t)
  const body = { repo: 'https://git.example.com/team/app.git', image: 'localhost:5000/team/ended' }
  const first = (await post(body)).json<Build>()
  t.equal((await app.inject({ method: 'POST', url: `/v1/builds/${first.id}/cancel` })).statusCode, 202)
  const answers = await Promise.all(Array.from({ length: 6 }, () => post(body)))
  const ids = new Set(answers.map((answer) => answer.json<Build>().id))
  t.equal(ids.size, 1, 'six concurrent repeats, one new build')
  t.notOk(ids.has(first.id), 'not the ended one')
  t.equal(answers.filter((answer) => answer.headers['slipway-joined'] === 'true').length, 5, 'the other five joined it')
  t.equal(await queue.count(), 1, 'queued once (the canceled one left the queue)')
})

t.test('supersede cancels the older queued builds of the same repository, ref and image', async (t) => {
  const { app, post, queue } = await apiOnly(t)
  const body = { repo: 'https://git.example.com/team/app.git', ref: 'main', image: 'localhost:5000/team/app' }
  const older = (await post({ ...body, force: true })).json<Build>()
  const otherRef = (await post({ ...body, ref: 'release', force: true })).json<Build>()
  const newer = (await post({ ...body, supersede: true })).json<Build>()
  const get = async (id: string) => (await app.inject({ method: 'GET', url: `/v1/builds/${id}` })).json<Build>()
  t.match(await get(older.id), { status: 'canceled', error: { code: 'SUPERSEDED', message: new RegExp(newer.id) } })
  t.equal((await get(otherRef.id)).status, 'queued', 'another ref is left alone')
  t.equal((await get(newer.id)).status, 'queued')
  t.equal(await queue.getJob(older.id), undefined, 'the superseded build left the queue')
})

t.test('cancel: a queued build ends at once; an ended one answers 409', async (t) => {
  const { app, post, queue } = await apiOnly(t)
  const build = (await post({ repo: 'https://git.example.com/team/app.git' })).json<Build>()
  const canceled = await app.inject({ method: 'POST', url: `/v1/builds/${build.id}/cancel` })
  t.equal(canceled.statusCode, 202)
  t.match(canceled.json(), { status: 'canceled', error: { code: 'CANCELED' }, finishedAt: /Z$/ })
  t.equal(await queue.getJob(build.id), undefined, 'taken off the queue')
  const again = await app.inject({ method: 'POST', url: `/v1/builds/${build.id}/cancel` })
  t.equal(again.statusCode, 409)
  t.equal(again.json().code, 'BUILD_FINISHED')
  t.equal((await app.inject({ method: 'POST', url: '/v1/builds/01ARZ3NDEKTSV4RRFFQ69G5FAV/cancel' })).statusCode, 404)
  const log = await app.inject({ method: 'GET', url: `/v1/builds/${build.id}/logs`, headers: { accept: 'text/event-stream' } })
  t.match(log.body, /event: status\ndata: \{"status":"canceled"/, 'followers hear it')
  t.match(log.body, /event: end/)
})

t.test('the time limit: the server default and maximum', async (t) => {
  const { post } = await apiOnly(t, { buildTimeoutSeconds: 600, buildTimeoutMaxSeconds: 900 })
  t.equal((await post({ repo: 'https://h/x' })).json<Build>().request.timeoutSeconds, 600)
  const tooLong = await post({ repo: 'https://h/y', timeoutSeconds: 901 })
  t.equal(tooLong.statusCode, 400)
  t.equal(tooLong.json().code, 'TIMEOUT_TOO_LONG')
})

t.test('priorities: with one worker free, high goes before normal before low', async (t) => {
  const { post, config } = await apiOnly(t, { concurrency: 1 })
  const repo = await createRepo(t, { Dockerfile: 'FROM busybox\nRUN true\n' })
  const low = (await post({ repo: repo.url, priority: 'low', tags: ['low'] })).json<Build>()
  const normal = (await post({ repo: repo.url, tags: ['normal'] })).json<Build>()
  const high = (await post({ repo: repo.url, priority: 'high', tags: ['high'] })).json<Build>()
  const slipway = await startSlipway(t, { ...config })
  const done = await Promise.all([low, normal, high].map((build) => slipway.wait(build.id)))
  const sorted = [...done].sort((a, b) => Date.parse(a.startedAt!) - Date.parse(b.startedAt!))
  t.same(sorted.map((build) => build.request.priority), ['high', 'normal', 'low'])
  for (let i = 1; i < sorted.length; i++) {
    t.ok(Date.parse(sorted[i]!.startedAt!) >= Date.parse(sorted[i - 1]!.finishedAt!), 'concurrency 1 holds: one build at a time')
  }
})

t.test('a build queued longer than SLIPWAY_QUEUE_TTL_SECONDS ends QUEUE_EXPIRED, never starting', async (t) => {
  const { post, config } = await apiOnly(t, { queueTtlSeconds: 1 })
  const build = (await post({ repo: 'https://git.example.com/team/app.git' })).json<Build>()
  await new Promise((resolve) => setTimeout(resolve, 1500))
  const slipway = await startSlipway(t, { ...config })
  const ended = await slipway.wait(build.id, 30_000)
  t.match(ended, { status: 'failed', attempts: 0, error: { code: 'QUEUE_EXPIRED' } })
})

t.test('retry builds the same commit again, whatever the branch points at now', async (t) => {
  const slipway = await startSlipway(t)
  const repo = await createRepo(t, { Dockerfile: 'FROM busybox\nCOPY version.txt /\nRUN test "$(cat /version.txt)" = good\n', 'version.txt': 'bad\n' })
  const failed = await slipway.build({ repo: repo.url, ref: 'main' })
  t.match(failed, { status: 'failed', error: { code: 'BUILD_STEP_FAILED' } })
  await repo.commit({ 'version.txt': 'good\n' })

  const retried = await slipway.app.inject({ method: 'POST', url: `/v1/builds/${failed.id}/retry` })
  t.equal(retried.statusCode, 202)
  const retry = await slipway.wait(retried.json<Build>().id)
  t.equal(retry.retryOf, failed.id)
  t.equal(retry.request.ref, failed.commit, 'pinned to the commit that failed')
  t.equal(retry.commit, failed.commit)
  t.equal(retry.status, 'failed', 'so it fails the same way: the fix on the branch is not in it')

  const fresh = await slipway.build({ repo: repo.url, ref: 'main', force: true })
  t.equal(fresh.status, 'succeeded', 'a new build of the branch has the fix')
  const running = await slipway.submit({ repo: repo.url, force: true })
  const early = await slipway.app.inject({ method: 'POST', url: `/v1/builds/${running.id}/retry` })
  t.equal(early.statusCode, 409)
  t.equal(early.json().code, 'BUILD_NOT_FINISHED')
  await slipway.wait(running.id)
})

t.test('an identical build reuses a succeeded one whose image the registry still holds', async (t) => {
  const slipway = await startSlipway(t)
  const registry = await startRegistry(t)
  const repo = await createRepo(t, { Dockerfile: `FROM busybox\nRUN echo ${randomUUID()} > /id\n` })
  const image = `${registry.host}/team/reused`
  const first = await slipway.build({ repo: repo.url, image })
  t.equal(first.status, 'succeeded', JSON.stringify(first.error))

  const second = await slipway.build({ repo: repo.url, image })
  t.match(second, { status: 'succeeded', reusedFrom: first.id, commit: first.commit })
  t.same(second.image, first.image, "the earlier build's results")
  t.same(second.phases.map((p) => `${p.name}:${p.status}`), ['clone:succeeded', 'context:skipped', 'build:skipped', 'inspect:skipped', 'push:skipped', 'attest:skipped'])
  t.ok(second.steps.length > 0 && second.steps.every((step) => step.cached), 'its steps show as cached')

  const pinned = await slipway.build({ repo: repo.url, image, ref: first.commit! })
  t.match(pinned, { status: 'succeeded', reusedFrom: first.id }, 'a full commit SHA is reused without even cloning')
  t.equal(pinned.phases.find((p) => p.name === 'clone')?.status, 'skipped')

  const forced = await slipway.build({ repo: repo.url, image, force: true })
  t.match(forced, { status: 'succeeded', reusedFrom: null }, 'force builds again')

  // The registry no longer holds the tag at that digest: build again.
  const manifest = await fetch(`http://${registry.host}/v2/team/reused/manifests/${forced.image!.digest}`, { method: 'DELETE' })
  t.equal(manifest.status, 202)
  const rebuilt = await slipway.build({ repo: repo.url, image })
  t.match(rebuilt, { status: 'succeeded', reusedFrom: null })
})
