import { randomBytes } from 'node:crypto'
import Fastify from 'fastify'
import { pino } from 'pino'
import { Registry } from 'prom-client'
import t from 'tap'
import healthRoutes from '../../src/api/routes/health.js'
import type { Build } from '../../src/domain/schemas/build.js'
import { startBuildWorker } from '../../workers/build-worker.js'
import { pruneBuildCache } from '../../workers/docker/host-cleanup.js'
import { buildApp } from '../helpers/app.js'
import { testConfig } from '../helpers/config.js'
import { docker } from '../helpers/docker.js'
import { freePort } from '../helpers/ports.js'
import { startSlipwayProcess } from '../helpers/processes.js'
import { createRepo } from '../helpers/git-repo.js'
import { startRegistry } from '../helpers/registry.js'
import { startSlipway } from '../helpers/slipway.js'

// A worker's Docker host must not fill up: what builds leave on the engine goes, what later builds
// need stays, and a host short of space stops taking builds until it has space again.

const GiB = 1024 ** 3

t.test('a pushed image leaves no tag on the engine, and an identical build still reuses it; a local build keeps its tag', async (t) => {
  const registry = await startRegistry(t)
  const slipway = await startSlipway(t)
  const repo = await createRepo(t, { Dockerfile: `FROM busybox\nRUN echo ${randomBytes(8).toString('hex')} > /nonce\n` })
  const image = `${registry.host}/team/hosts`

  const pushed = await slipway.build({ repo: repo.url, image, tags: ['v1'] })
  t.equal(pushed.status, 'succeeded', JSON.stringify(pushed.error))
  t.match(pushed.image?.digest, /^sha256:/)
  const engine = (await docker.info()) as { ID: string; Name: string }
  t.same(pushed.ranOn?.engine, { id: engine.ID, name: engine.Name }, 'the build names the engine it ran on, as docker info does')
  t.match(pushed.ranOn?.worker, /:\d+$/, 'and its worker process, host:pid')
  await t.rejects(docker.getImage(`${image}:v1`).inspect(), 'the engine no longer has the pushed tag')

  const again = await slipway.build({ repo: repo.url, image, tags: ['v1'] })
  t.equal(again.reusedFrom, pushed.id, 'an identical build reuses the pushed image, which the registry still has')

  const local = await slipway.build({ repo: repo.url, image: 'team/hosts', tags: ['v1'], push: false })
  t.equal(local.status, 'succeeded', JSON.stringify(local.error))
  t.equal((await docker.getImage('slipway.local/team/hosts:v1').inspect()).Id, local.image?.id, 'a local build keeps its tag: it is where its image is')
})

t.test('a failed classic build leaves none of the intermediate images it made, and keeps its FROM image', async (t) => {
  const slipway = await startSlipway(t)
  const nonce = randomBytes(8).toString('hex')
  const repo = await createRepo(t, { Dockerfile: `FROM busybox\nRUN echo ${nonce} > /a\nRUN echo ${nonce} > /b\nRUN exit 3\n` })

  const failed = await slipway.build({ repo: repo.url, builder: 'classic', push: false })
  t.equal(failed.status, 'failed')
  const log = await slipway.logs(failed.id)
  const ids = [...log.matchAll(/ ---> ([0-9a-f]{12})\b/g)].map((match) => match[1]!)
  t.ok(ids.length >= 3, `the log names the base image and the intermediates: ${ids.join(', ')}`)
  const [base, ...made] = ids
  t.ok(await docker.getImage(base!).inspect(), 'the FROM image is still there')
  for (const id of made) await t.rejects(docker.getImage(id).inspect(), `the intermediate image ${id} is gone`)
})

t.test("a classic build that fails while another runs on the engine removes nothing the other uses, even the step it took from the other's cache", async (t) => {
  const slipway = await startSlipway(t, { concurrency: 2 })
  const nonce = randomBytes(8).toString('hex')
  const slow = await createRepo(t, { Dockerfile: `FROM busybox\nRUN echo ${nonce} > /a\nRUN sleep 4\nRUN echo done > /b\n` })
  const failing = await createRepo(t, { Dockerfile: `FROM busybox\nRUN echo ${nonce} > /a\nRUN exit 3\n` })

  const running = await slipway.submit({ repo: slow.url, builder: 'classic', push: false })
  const deadline = Date.now() + 60_000
  while (!/RUN sleep 4/.test(await slipway.logs(running.id))) {
    if (Date.now() > deadline) throw new Error('the slow build never reached its sleep')
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  const failed = await slipway.build({ repo: failing.url, builder: 'classic', push: false })
  t.equal(failed.status, 'failed')
  t.match(await slipway.logs(failed.id), /Using cache/, "the failing build took its first RUN step from the running build's cache")

  const done = await slipway.wait(running.id)
  t.equal(done.status, 'succeeded', JSON.stringify(done.error))
  t.equal((await docker.getImage(done.image!.tags[0]!).inspect()).Id, done.image?.id, "the running build's image is there, under its tag")
})

t.test('the build cache is pruned through the Engine API with the budget as the figure to keep', async (t) => {
  const calls: Record<string, unknown>[] = []
  const fake = { modem: { dial: (options: Record<string, unknown>, done: (error: unknown, data: unknown) => void) => { calls.push(options); done(null, { SpaceReclaimed: 42 }) } } }
  t.equal(await pruneBuildCache(fake as never, 10 * GiB, 600), 42)
  t.match(calls, [{ path: '/build/prune?', method: 'POST', options: { 'keep-storage': 10 * GiB, 'max-used-space': 10 * GiB, filters: '{"until":["600s"]}' } }])
  // The real engine takes the request (a budget of a terabyte prunes nothing here).
  t.type(await pruneBuildCache(docker, 1024 * GiB, 600), 'number')
})

t.test('under the disk watermark the worker takes no builds (a running one finishes), /readyz says why, and it takes them again when space returns', async (t) => {
  const config = testConfig(t, { diskMinFreeBytes: 2 * GiB, concurrency: 2 })
  const metrics = new Registry()
  const logger = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' })
  const app = await buildApp(t, config, { logger, metrics })
  let free = 50 * GiB
  const worker = await startBuildWorker(config, logger, metrics, { freeSpace: async () => free, checkIntervalMs: 100 })
  t.teardown(() => worker.close())
  const probes = Fastify()
  await probes.register(healthRoutes, { dependencies: worker.dependencies })
  t.teardown(() => probes.close())
  const readyz = async () => {
    const response = await probes.inject('/readyz')
    return { code: response.statusCode, body: response.json<{ status: string; redis: boolean; paused?: string | null }>() }
  }
  const submit = async (repo: string) => (await app.inject({ method: 'POST', url: '/v1/builds', payload: { repo, push: false } })).json<Build>()
  const get = async (id: string) => (await app.inject({ method: 'GET', url: `/v1/builds/${id}` })).json<Build>()
  const until = async (what: string, ok: () => Promise<boolean>, ms = 60_000) => {
    const deadline = Date.now() + ms
    while (!(await ok())) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
  }
  const pausedGauge = async () => /slipway_worker_paused\{reason="disk"\} (\d)/.exec(await metrics.getSingleMetricAsString('slipway_worker_paused'))?.[1]

  await until('the worker to reach Redis', async () => (await readyz()).body.redis === true)
  t.same(await readyz(), { code: 200, body: { status: 'ready', redis: true, docker: true, paused: null, warnings: [] } })
  const slow = await createRepo(t, { Dockerfile: `FROM busybox\nRUN sleep 3 && echo ${randomBytes(8).toString('hex')} > /slow\n` })
  const running = await submit(slow.url)
  await until('the first build to run', async () => (await get(running.id)).status === 'running')

  free = 1 * GiB
  await until('the worker to pause', async () => (await readyz()).code === 503)
  const { body } = await readyz()
  t.equal(body.status, 'unavailable')
  t.match(body.paused, /1.07 GB free, under the 2.15 GB .*SLIPWAY_DISK_MIN_FREE_BYTES/)
  t.equal(await pausedGauge(), '1', 'slipway_worker_paused{reason="disk"} is 1')

  const next = await createRepo(t, { Dockerfile: `FROM busybox\nRUN echo ${randomBytes(8).toString('hex')} > /next\n` })
  const waiting = await submit(next.url)
  await until('the running build to end', async () => (await get(running.id)).status !== 'running')
  t.equal((await get(running.id)).status, 'succeeded', `the build that was running finished: ${JSON.stringify((await get(running.id)).error)}`)
  await new Promise((resolve) => setTimeout(resolve, 1500))
  t.equal((await get(waiting.id)).status, 'queued', 'a build submitted meanwhile stays queued, not failed')

  free = 50 * GiB
  await until('the waiting build to end', async () => !['queued', 'running'].includes((await get(waiting.id)).status))
  t.equal((await get(waiting.id)).status, 'succeeded', 'space back, the worker took the build and built it')
  t.same(await readyz(), { code: 200, body: { status: 'ready', redis: true, docker: true, paused: null, warnings: [] } })
  t.equal(await pausedGauge(), '0')
})

t.test("with SLIPWAY_ROLE=all, the API's /readyz says when the process's own worker takes no builds", async (t) => {
  // More free space than any disk has: the worker prunes what it may, then pauses.
  const config = testConfig(t, { port: await freePort(), diskMinFreeBytes: 2 ** 50 })
  await startSlipwayProcess(t, config, 'all')
  const deadline = Date.now() + 60_000
  let answer: { code: number; body: { status: string; paused?: string | null } }
  do {
    const response = await fetch(`http://127.0.0.1:${config.port}/readyz`)
    answer = { code: response.status, body: (await response.json()) as typeof answer.body }
    if (answer.body.paused) break
    await new Promise((resolve) => setTimeout(resolve, 200))
  } while (Date.now() < deadline)
  t.equal(answer.code, 503, 'not ready for builds')
  t.match(answer.body, { status: 'unavailable', paused: /under the 1.13 PB this worker keeps \(SLIPWAY_DISK_MIN_FREE_BYTES\)/ })
})
