import { randomUUID } from 'node:crypto'
import { Writable } from 'node:stream'
import type { FastifyInstance } from 'fastify'
import { pino } from 'pino'
import type { PromMetrics } from 'prom2javascript'
import t, { type Test } from 'tap'
import { buildApp } from '../helpers/app.js'
import { testConfig } from '../helpers/config.js'
import { docker } from '../helpers/docker.js'
import { createRepo } from '../helpers/git-repo.js'
import { freePort } from '../helpers/ports.js'
import { startSlipwayProcess } from '../helpers/processes.js'
import { histogramOf, parseMetrics, valueOf } from '../helpers/prometheus.js'
import { startRedisServer } from '../helpers/redis-server.js'
import { startSlipway } from '../helpers/slipway.js'
import { startReceiver } from '../helpers/webhook-receiver.js'

// Prometheus scrapes without a token: every request here sends none.
const NO_TOKEN = { authorization: '' }

async function scrape (t: Test, app: FastifyInstance): Promise<PromMetrics> {
  const response = await app.inject({ method: 'GET', url: '/metrics', headers: NO_TOKEN })
  t.equal(response.statusCode, 200, 'GET /metrics')
  t.match(response.headers['content-type'], /^text\/plain; version=0\.0\.4/)
  return parseMetrics(response.body)
}

/** Scrapes until `ready` holds (an event counted just after the test sees its effect), or gives up. */
async function scrapeUntil (t: Test, app: FastifyInstance, ready: (metrics: PromMetrics) => boolean): Promise<PromMetrics> {
  const deadline = Date.now() + 10_000
  for (;;) {
    const metrics = await scrape(t, app)
    if (ready(metrics) || Date.now() > deadline) return metrics
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}

// No label may carry a build id, a URL, a worker process or anything else without bound: only
// these names. `engine` is bounded by the Docker hosts an installation runs.
const LABEL_NAMES = new Set(['status', 'code', 'phase', 'outcome', 'queue', 'state', 'le', 'reason', 'what', 'engine'])

t.test('after a real build, /metrics shows it: builds by status, phase and wait histograms, queues, webhook outcomes, Redis and Docker up', async (t) => {
  const slipway = await startSlipway(t, { webhookAllow: '127.0.0.1/32' })
  const receiver = await startReceiver(t)
  const repo = await createRepo(t, { Dockerfile: `FROM busybox\nRUN echo ${randomUUID()}\n` })
  const build = await slipway.build({ repo: repo.url, webhooks: [{ url: receiver.url, events: ['build.succeeded'] }] })
  t.equal(build.status, 'succeeded')
  await receiver.waitFor(1)

  const delivered = (metrics: PromMetrics) => (valueOf(metrics, 'slipway_webhook_delivery_attempts_total', { outcome: 'delivered' }) ?? 0) >= 1
  const metrics = await scrapeUntil(t, slipway.app, delivered)
  t.ok(delivered(metrics), 'the webhook delivery is counted as delivered')

  t.ok(valueOf(metrics, 'slipway_builds', { status: 'succeeded' })! >= 1, 'builds by status: succeeded')
  for (const status of ['queued', 'running', 'failed', 'canceled', 'timed_out']) {
    t.equal(typeof valueOf(metrics, 'slipway_builds', { status }), 'number', `builds by status: ${status} is present`)
  }
  for (const phase of ['clone', 'build']) {
    t.ok(histogramOf(metrics, 'slipway_build_phase_duration_seconds', { phase, outcome: 'succeeded' })!.count >= 1, `${phase} phase observed`)
  }
  t.ok(histogramOf(metrics, 'slipway_build_queue_wait_seconds')!.count >= 1, 'queue wait observed')
  const engine = ((await docker.info()) as { Name: string }).Name
  t.ok(valueOf(metrics, 'slipway_builds_finished_total', { status: 'succeeded', code: 'none', engine })! >= 1, 'the outcome is counted, by the engine it ran on')
  for (const queue of ['builds', 'webhooks']) {
    for (const state of ['prioritized', 'waiting', 'active', 'delayed', 'failed']) {
      t.equal(typeof valueOf(metrics, 'slipway_queue_jobs', { queue, state }), 'number', `queue ${queue}: ${state} jobs`)
    }
  }
  t.equal(valueOf(metrics, 'slipway_redis_up'), 1)
  t.equal(valueOf(metrics, 'slipway_docker_up'), 1)

  const labels = Object.values(metrics).flatMap((metric) => metric.data.flatMap((series) => Object.keys(series.labels)))
  t.same([...new Set(labels)].filter((name) => !LABEL_NAMES.has(name)), [], 'no label outside the bounded set')
  const text = (await slipway.app.inject({ method: 'GET', url: '/metrics', headers: NO_TOKEN })).body
  t.notOk(text.includes(build.id) || text.includes(repo.url), 'no build id or repository in the metrics')
  t.notOk(text.includes(build.ranOn!.worker), 'nor the worker process')
})

t.test('every log line about a build carries its buildId, from the worker and from the API', async (t) => {
  const lines: string[] = []
  const sink = new Writable({
    write (chunk: Buffer, _encoding, done) {
      lines.push(...chunk.toString('utf8').split('\n').filter(Boolean))
      done()
    }
  })
  const slipway = await startSlipway(t, {}, pino({ level: 'info' }, sink))
  const repo = await createRepo(t, { Dockerfile: `FROM busybox\nRUN echo ${randomUUID()}\n` })
  const build = await slipway.build({ repo: repo.url })
  await slipway.logs(build.id)
  await slipway.app.inject({ method: 'POST', url: `/v1/builds/${build.id}/cancel` })
  const deadline = Date.now() + 10_000
  while (!lines.some((line) => line.includes('"build finished"')) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50))

  const entries = lines.map((line) => JSON.parse(line) as { buildId?: string; msg: string; statusCode?: number })
  const about = entries.filter((entry, i) => lines[i]!.includes(build.id) || entry.buildId === build.id)
  t.same(about.filter((entry) => entry.buildId !== build.id), [], 'no line mentions the build without its buildId')
  const messages = about.map((entry) => entry.msg)
  for (const message of ['build started', 'build finished', 'request completed']) t.ok(messages.includes(message), `"${message}" carries it`)
  t.ok(about.some((entry) => entry.statusCode === 202), 'so does the POST that made the build')
  t.ok(about.some((entry) => entry.statusCode === 409), 'and a refused request about it')
})

t.test('/readyz answers 503 naming Redis while Redis is down; /metrics still answers, with redis up 0; queued builds are counted', async (t) => {
  const redis = await startRedisServer(t)
  const config = testConfig(t, { redisUrl: redis.url })
  const app = await buildApp(t, config)
  const repo = await createRepo(t, { Dockerfile: 'FROM busybox\n' })
  t.equal((await app.inject({ method: 'POST', url: '/v1/builds', payload: { repo: repo.url } })).statusCode, 202)

  const ready = await app.inject({ method: 'GET', url: '/readyz', headers: NO_TOKEN })
  t.equal(ready.statusCode, 200)
  t.same(ready.json(), { status: 'ready', redis: true, docker: true, warnings: [] })
  const before = await scrape(t, app)
  t.equal(valueOf(before, 'slipway_builds', { status: 'queued' }), 1, 'the build waits: no worker runs here')
  t.equal(valueOf(before, 'slipway_queue_jobs', { queue: 'builds', state: 'prioritized' }), 1, 'queue depth: one build')

  await redis.stop()
  const down = await app.inject({ method: 'GET', url: '/readyz', headers: NO_TOKEN })
  t.equal(down.statusCode, 503)
  t.same(down.json(), { status: 'unavailable', redis: false, docker: true, warnings: [] })
  t.same((await app.inject({ method: 'GET', url: '/healthz', headers: NO_TOKEN })).json(), { status: 'ok' }, 'still alive')
  const during = await scrape(t, app)
  t.equal(valueOf(during, 'slipway_redis_up'), 0)
  t.equal(valueOf(during, 'slipway_builds', { status: 'queued' }), undefined, 'no stale counts while Redis cannot be read')
  // Back, so the test's keys can be removed.
  await redis.start()
})

t.test('an API-only process does not use Docker: /readyz reports docker null, /metrics has no docker_up', async (t) => {
  const app = await buildApp(t, testConfig(t, { role: 'api' }))
  const ready = await app.inject({ method: 'GET', url: '/readyz', headers: NO_TOKEN })
  t.equal(ready.statusCode, 200)
  t.same(ready.json(), { status: 'ready', redis: true, docker: null, warnings: [] })
  const metrics = await scrape(t, app)
  t.equal(valueOf(metrics, 'slipway_redis_up'), 1)
  t.notOk('slipway_docker_up' in metrics)
})

t.test('a worker process serves /metrics, /healthz and /readyz on SLIPWAY_METRICS_PORT; with its Docker unreachable it is not ready', async (t) => {
  const metricsPort = await freePort()
  const config = testConfig(t, { metricsPort, dockerHost: `unix:///tmp/slipway-no-docker-${randomUUID()}.sock` })
  await startSlipwayProcess(t, config, 'worker')
  const base = `http://127.0.0.1:${metricsPort}`

  t.same(await (await fetch(`${base}/healthz`)).json(), { status: 'ok' })
  const ready = await fetch(`${base}/readyz`)
  t.equal(ready.status, 503)
  t.same(await ready.json(), { status: 'unavailable', redis: true, docker: false, paused: null, warnings: [] }, 'a worker answers paused: null while it takes builds')

  const response = await fetch(`${base}/metrics`)
  t.equal(response.status, 200)
  const metrics = await parseMetrics(await response.text())
  t.equal(valueOf(metrics, 'slipway_docker_up'), 0)
  t.equal(valueOf(metrics, 'slipway_redis_up'), 1)
  t.equal(metrics.slipway_build_phase_duration_seconds?.type, 'histogram', "the worker's own metrics are there")
  t.equal(metrics.slipway_webhook_delivery_attempts_total?.type, 'counter')
  t.ok(metrics.process_cpu_user_seconds_total, 'and the process metrics')
  t.notOk('slipway_builds' in metrics, 'cluster-wide counts are the API’s to give')
})
