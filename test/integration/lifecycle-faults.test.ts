import { randomUUID } from 'node:crypto'
import { readdir } from 'node:fs/promises'
import t, { type Test } from 'tap'
import type { Config } from '../../src/domain/config.js'
import type { Build } from '../../src/domain/schemas/build.js'
import { buildApp } from '../helpers/app.js'
import { testConfig } from '../helpers/config.js'
import { docker } from '../helpers/docker.js'
import { createRepo } from '../helpers/git-repo.js'
import { startSlipwayProcess } from '../helpers/processes.js'
import { startRedisServer } from '../helpers/redis-server.js'

// Builds running in worker processes of their own, steered and broken from outside.

async function apiWith (t: Test, overrides: Partial<Config> = {}) {
  const config = testConfig(t, { stallSeconds: 2, ...overrides })
  const app = await buildApp(t, config)
  // While Redis is away the API answers 503: that is "not yet", not an answer.
  const get = async (id: string) => {
    const response = await app.inject({ method: 'GET', url: `/v1/builds/${id}` })
    return response.statusCode === 200 ? response.json<Build>() : null
  }
  const until = async (id: string, done: (build: Build) => boolean, timeoutMs = 60_000) => {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const build = await get(id)
      if (build && done(build)) return build
      if (Date.now() > deadline) throw new Error(`build ${id} still ${build?.status} (${build?.phases.at(-1)?.name}) after ${timeoutMs} ms`)
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
  }
  const post = async (payload: object) => (await app.inject({ method: 'POST', url: '/v1/builds', payload })).json<Build>()
  return { config, app, get, until, post }
}

const ended = (build: Build) => !['queued', 'running'].includes(build.status)
const building = (build: Build) => build.steps.some((step) => step.status === 'running' && step.instruction.includes('sleep'))

/** Containers a classic build's RUN step left behind, found by a marker in its command. */
async function containersWith (marker: string): Promise<number> {
  return (await docker.listContainers({ all: true })).filter((container) => container.Command.includes(marker)).length
}

for (const builder of ['classic', 'buildkit'] as const) {
  t.test(`${builder}: a cancel sent to the API stops the build in the worker process within 5 s, leaving no container`, async (t) => {
    const { config, app, post, until } = await apiWith(t)
    await startSlipwayProcess(t, config, 'worker')
    const marker = randomUUID()
    const repo = await createRepo(t, { Dockerfile: `FROM busybox\nRUN echo ${marker} && sleep 120\n` })
    const build = await post({ repo: repo.url, builder })
    await until(build.id, building)
    const asked = Date.now()
    const answer = await app.inject({ method: 'POST', url: `/v1/builds/${build.id}/cancel` })
    t.equal(answer.statusCode, 202)
    t.equal(answer.json<Build>().cancelRequested, true)
    const canceled = await until(build.id, ended, 10_000)
    t.ok(Date.now() - asked < 5000, `stopped ${Date.now() - asked} ms after the cancel`)
    t.match(canceled, { status: 'canceled', error: { code: 'CANCELED', phase: 'build' } })
    t.match(canceled.phases.at(-1), { name: 'build', status: 'interrupted' }, 'the phase a cancel stopped is interrupted, not failed')
    t.match(canceled.steps.find((step) => step.instruction.includes(marker)), { status: 'interrupted', durationMs: Number }, 'the step it stopped too')
    t.notOk(canceled.steps.some((step) => step.status === 'running'), 'nothing is left running')
    await new Promise((resolve) => setTimeout(resolve, 1000))
    t.equal(await containersWith(marker), 0, 'no container of the build is left')
  })
}

t.test('a time limit ends the build timed_out, with the same clean-up', async (t) => {
  const { config, post, until } = await apiWith(t)
  await startSlipwayProcess(t, config, 'worker')
  const marker = randomUUID()
  const repo = await createRepo(t, { Dockerfile: `FROM busybox\nRUN echo ${marker} && sleep 120\n` })
  const build = await post({ repo: repo.url, builder: 'classic', timeoutSeconds: 4 })
  const timedOut = await until(build.id, ended, 30_000)
  t.match(timedOut, { status: 'timed_out', error: { code: 'TIMED_OUT', phase: 'build' } })
  t.ok(timedOut.durationMs! < 9000, `ended ${timedOut.durationMs} ms after it started`)
  await new Promise((resolve) => setTimeout(resolve, 1000))
  t.equal(await containersWith(marker), 0)
})

t.test('a worker killed mid-build: another worker runs the build again, and cleans up after it', async (t) => {
  const { config, post, until } = await apiWith(t)
  const doomed = await startSlipwayProcess(t, config, 'worker')
  const repo = await createRepo(t, { Dockerfile: `FROM busybox\nRUN echo ${randomUUID()} && sleep 3\n` })
  const build = await post({ repo: repo.url })
  t.equal(build.ranOn, null, 'a queued build ran nowhere yet')
  t.match((await until(build.id, building)).ranOn?.worker, new RegExp(`:${doomed.pid}$`), 'a running build names its worker')
  doomed.kill('SIGKILL')
  const leftBehind = (await readdir(config.workDir)).filter((entry) => entry.endsWith(`-${doomed.pid}`))
  t.equal(leftBehind.length, 1, "the dead worker's folder is still there")
  const survivor = await startSlipwayProcess(t, config, 'worker')
  t.notOk((await readdir(config.workDir)).includes(leftBehind[0]!), 'a new worker on the host removed it')
  const done = await until(build.id, ended, 60_000)
  t.match(done, { status: 'succeeded', attempts: 2 })
  t.match(done.ranOn?.worker, new RegExp(`:${survivor.pid}$`), 'the build names the worker that ran its last attempt')
})

t.test('a build whose workers keep dying ends WORKER_LOST, never stuck running', async (t) => {
  const { config, post, until } = await apiWith(t, { maxAttempts: 2 })
  const repo = await createRepo(t, { Dockerfile: `FROM busybox\nRUN echo ${randomUUID()} && sleep 120\n` })
  const build = await post({ repo: repo.url })
  for (let attempt = 1; attempt <= 2; attempt++) {
    const worker = await startSlipwayProcess(t, config, 'worker')
    await until(build.id, (b) => b.attempts === attempt && building(b))
    worker.kill('SIGKILL')
  }
  await startSlipwayProcess(t, config, 'worker')
  const lost = await until(build.id, ended, 60_000)
  t.match(lost, { status: 'failed', attempts: 2, error: { code: 'WORKER_LOST' } })
})

t.test('SIGTERM: the worker lets a build finish within the grace period, else hands it back', async (t) => {
  const { config, post, until } = await apiWith(t, { shutdownGraceSeconds: 1 })
  const leaving = await startSlipwayProcess(t, config, 'worker')
  const repo = await createRepo(t, { Dockerfile: `FROM busybox\nRUN echo ${randomUUID()} && sleep 4\n` })
  const build = await post({ repo: repo.url })
  await until(build.id, building)
  leaving.kill('SIGTERM')
  const handedBack = await until(build.id, (b) => b.status === 'queued', 15_000)
  t.equal(handedBack.attempts, 0, 'a hand-back is not counted as a lost worker')
  t.equal(handedBack.ranOn, null, 'queued again, it runs nowhere')
  await startSlipwayProcess(t, config, 'worker')
  t.match(await until(build.id, ended), { status: 'succeeded', attempts: 1 })
})

t.test('Redis down: the API answers 503 within a second; when it is back, the build carries on', async (t) => {
  const redis = await startRedisServer(t)
  const { config, app, post, until } = await apiWith(t, { redisUrl: redis.url })
  await startSlipwayProcess(t, config, 'worker')
  const repo = await createRepo(t, { Dockerfile: `FROM busybox\nRUN echo ${randomUUID()} && sleep 3\n` })
  const build = await post({ repo: repo.url })
  await until(build.id, building)
  await redis.stop()
  const asked = Date.now()
  const answer = await app.inject({ method: 'GET', url: `/v1/builds/${build.id}` })
  t.equal(answer.statusCode, 503)
  t.equal(answer.json().code, 'REDIS_UNAVAILABLE')
  t.ok(Date.now() - asked < 1000, `answered in ${Date.now() - asked} ms`)
  t.equal((await app.inject({ method: 'POST', url: '/v1/builds', payload: { repo: repo.url } })).statusCode, 503)
  await new Promise((resolve) => setTimeout(resolve, 4000))
  await redis.start()
  t.match(await until(build.id, ended, 60_000), { status: 'succeeded' })
  t.equal((await app.inject({ method: 'GET', url: '/readyz' })).statusCode, 200, 'the API is ready again by itself')
})
