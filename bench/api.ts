// Submitting on loopback: autocannon against a real API process (real Redis, a stored token, the
// real rate limit raised out of the way), beside a bare Fastify server answering the same JSON.
// No worker runs: POSTed builds stay queued. Every POST is a distinct build (its own build arg),
// so none joins another and each takes the whole path: validate, store, enqueue, announce.
// Reading builds is bench/reads.ts.
import autocannon from 'autocannon'
import { milliseconds, percentile, type Row, type Section } from './report.js'
import { startReferenceServer } from './reference-server.js'
import { createToken, postBuild, startSlipway } from './slipway.js'

const CONNECTIONS = 10
const WARM_UP_SECONDS = 2
const MEASURE_SECONDS = 10
const TARGETS = { post: 2000, p99Ms: 20 }

interface Load {
  perSecond: number
  p99Ms: number
}

export const apiSection: Section = {
  name: 'api',
  summary: `POST /v1/builds: requests/s and p99 at ${CONNECTIONS} connections, beside a bare Fastify route`,
  async run ({ scope, progress }) {
    // The rate limit and the quota of queued builds stay on (each request still counts in Redis);
    // they are only set above what the bench sends.
    const slipway = await startSlipway(scope, { worker: false, config: { rateLimitPerMinute: 100_000_000, quotaActiveBuilds: 100_000_000 } })
    const token = await createToken(slipway.api, ['builds:read', 'builds:write'])
    const build = await postBuild(slipway.api, distinctRequest(0))
    const reference = await startReferenceServer(scope, build)
    progress(`Slipway, ${WARM_UP_SECONDS} s warm-up then ${MEASURE_SECONDS} s`)
    const ours = await load(slipway.api, token)
    progress(`bare Fastify, ${WARM_UP_SECONDS} s warm-up then ${MEASURE_SECONDS} s`)
    const bare = await load(reference, token)
    const rows: Row[] = [
      {
        figure: `POST /v1/builds, requests/s (${CONNECTIONS} connections)`,
        slipway: `${Math.round(ours.perSecond)}/s`,
        reference: `${Math.round(bare.perSecond)}/s`,
        target: `>= ${TARGETS.post}/s`,
        met: ours.perSecond >= TARGETS.post
      },
      {
        figure: 'POST /v1/builds, p99 latency',
        slipway: milliseconds(ours.p99Ms),
        reference: milliseconds(bare.p99Ms),
        target: `< ${TARGETS.p99Ms} ms`,
        met: ours.p99Ms < TARGETS.p99Ms
      }
    ]
    return rows
  }
}

/** A build request no earlier one is identical to: the n-th of the run. */
function distinctRequest (n: number) {
  return { repo: 'https://github.com/acme/app.git', ref: 'main', image: 'localhost:5000/acme/app', buildArgs: { BENCH_REQUEST: String(n) } }
}

/** Requests per second and p99 of POSTs of distinct builds, after a warm-up; throws if any answer was not 2xx. */
async function load (base: string, token: string): Promise<Load> {
  let sent = 0
  const options: autocannon.Options = {
    url: base,
    connections: CONNECTIONS,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    requests: [{ method: 'POST', path: '/v1/builds', setupRequest: (request) => ({ ...request, body: JSON.stringify(distinctRequest(++sent)) }) }]
  }
  await run({ ...options, duration: WARM_UP_SECONDS })
  const { result, latencies } = await run({ ...options, duration: MEASURE_SECONDS })
  return { perSecond: result.requests.total / (result.duration || MEASURE_SECONDS), p99Ms: percentile(latencies, 99) }
}

/** One autocannon run, with each response time in ms (its own summary rounds them to whole ms). */
async function run (options: autocannon.Options): Promise<{ result: autocannon.Result; latencies: number[] }> {
  const latencies: number[] = []
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    const instance = autocannon(options, (error, done) => (error ? reject(error as Error) : resolve(done)))
    instance.on('response', (_client, _status, _bytes, responseTime) => latencies.push(responseTime))
  })
  if (result.non2xx > 0 || result.errors > 0) {
    throw new Error(`${result.url}: ${result.non2xx} answers were not 2xx and ${result.errors} requests failed, of ${result.requests.total}`)
  }
  return { result, latencies }
}
