// The read path as CI systems wait on it: GET /v1/builds/{id} for a finished and for a running
// build, plain and conditional (If-None-Match), and with the polls left out of the request log
// (SLIPWAY_LOG_REQUESTS=changes), beside a bare node:http server answering the same bytes, with
// one client for every figure: wrk (C, one thread), so the client takes less of the two cores
// than the servers it measures; the finished build's GET, the judged figure, in rounds taken in
// turns with the bare server. Then 1,000 callers waiting on one build with ?wait=, answered
// when it changes, beside the same requests held by a bare node:http server and answered at once.
// Real builds make the records: a finished one (the benchmark app, built and pushed), a running
// one (a step sleeping) and a queued one behind it, the one the waiters wait on.
import { execFile, fork } from 'node:child_process'
import http from 'node:http'
import net from 'node:net'
import os from 'node:os'
import { performance } from 'node:perf_hooks'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { Redis } from 'ioredis'
import type { Build } from '../src/domain/schemas/build.js'
import { redisKeys } from '../src/storage/keys.js'
import { createRepo } from '../test/helpers/git-repo.js'
import { freePort } from '../test/helpers/ports.js'
import { startSlipwayProcess } from '../test/helpers/processes.js'
import { startRegistry } from '../test/helpers/registry.js'
import type { Teardown } from '../test/helpers/teardown.js'
import { benchmarkApp } from './build-vs-hand.js'
import { milliseconds, percentile, type Row, type Section } from './report.js'
import { createToken, postBuild, startSlipway, untilEnded } from './slipway.js'

const exec = promisify(execFile)
const CONNECTIONS = 10
const WARM_UP_SECONDS = 2
const MEASURE_SECONDS = 10
const ROUNDS = 5
const ROUND_SECONDS = 4
const WAITERS = 1000
const TARGETS = { finishedShare: 0.5, p99Times: 2, waitersMs: 100 }

interface Load {
  perSecond: number
  p99Ms: number
}

export const readsSection: Section = {
  name: 'reads',
  summary: `GET /v1/builds/{id} (finished, running, If-None-Match, polls not logged) beside a bare node:http server, wrk at ${CONNECTIONS} connections; ${WAITERS.toLocaleString('en')} waiters on one build`,
  async run ({ scope, progress }) {
    const registry = await startRegistry(scope)
    // One build at a time, so the third build stays queued behind the sleeping one.
    const slipway = await startSlipway(scope, { worker: true, config: { allowLocalRepos: true, concurrency: 1, rateLimitPerMinute: 100_000_000 } })
    const token = await createToken(slipway.api, ['builds:read', 'builds:write'])
    const app = await createRepo(scope, benchmarkApp())
    const sleeper = await createRepo(scope, { Dockerfile: 'FROM busybox\nRUN sleep 600\n' })
    const image = `${registry.host}/bench/reads`

    progress('building the benchmark app for a finished build')
    const finished = await untilEnded(slipway.api, (await postBuild(slipway.api, { repo: app.url, image, force: true })).id)
    if (finished.status !== 'succeeded') throw new Error(`reads bench: the finished build ended ${finished.status}: ${JSON.stringify(finished.error)}`)
    const running = await postBuild(slipway.api, { repo: sleeper.url, image, noCache: true, force: true })
    const queued = await postBuild(slipway.api, { repo: app.url, image, tags: ['queued'], force: true })
    await untilStatus(slipway.api, token, running.id, 'running')

    const answer = await fetchAnswer(slipway.api, token, finished.id)
    const bare = await startBareServer(scope, answer)
    const url = (base: string, id: string) => `${base}/v1/builds/${id}`
    // The judged figure, in turns with its reference (the first of each pair changing every
    // round): a moment of noise on this shared machine then falls on one round of either, not on
    // the whole of one side, and the medians of the rounds are compared.
    const bareRounds: Load[] = []
    const finishedRounds: Load[] = []
    for (let round = 0; round < ROUNDS; round++) {
      progress(`round ${round + 1} of ${ROUNDS}: the bare node:http server and GET finished build, in turns`)
      const pair = [
        async () => bareRounds.push(await load(url(bare, finished.id), token, null, ROUND_SECONDS)),
        async () => finishedRounds.push(await load(url(slipway.api, finished.id), token, null, ROUND_SECONDS))
      ]
      for (const measure of round % 2 === 0 ? pair : pair.reverse()) {
        await settle(progress)
        await measure()
      }
    }
    const reference = medianOf(bareRounds)
    const rows: Row[] = [judgedRow(medianOf(finishedRounds), reference, finishedRounds, bareRounds)]
    // A second API process on the same Redis, as an operator whose API is busy with polls would
    // run it: with SLIPWAY_LOG_REQUESTS=changes, the reads that succeed are not logged.
    const unlogged = { ...slipway.config, port: await freePort(), logRequests: 'changes' as const }
    await startSlipwayProcess(scope, unlogged, 'api')
    const cases = [
      { name: 'finished build, If-None-Match (304)', api: slipway.api, id: finished.id, conditional: true },
      { name: 'running build', api: slipway.api, id: running.id, conditional: false },
      { name: 'running build, If-None-Match (304)', api: slipway.api, id: running.id, conditional: true },
      { name: 'finished build, SLIPWAY_LOG_REQUESTS=changes', api: `http://127.0.0.1:${unlogged.port}`, id: finished.id, conditional: false }
    ]
    for (const { name, api, id, conditional } of cases) {
      progress(`GET ${name}`)
      const etag = conditional ? (await fetchAnswer(api, token, id)).etag : null
      if (conditional && !etag) throw new Error(`reads bench: GET /v1/builds/${id} has no ETag`)
      await settle(progress)
      const ours = await load(url(api, id), token, etag)
      rows.push({
        figure: `GET /v1/builds/{id}, ${name}: requests/s, p99 (${CONNECTIONS} connections)`,
        slipway: `${perSecond(ours)} (${(ours.perSecond / reference.perSecond).toFixed(2)}x), p99 ${milliseconds(ours.p99Ms)}`,
        reference: `${perSecond(reference)}, p99 ${milliseconds(reference.p99Ms)} (bare node:http, same bytes; median of the rounds above)`,
        target: '',
        met: null
      })
    }

    progress(`${WAITERS} waiters on the queued build, then it is canceled`)
    const waited = await waitersOn(scope, slipway, token, queued.id)
    progress(`${WAITERS} requests held by a bare node:http server, then answered`)
    const heldBare = await bareWaiters(scope, await fetchAnswer(slipway.api, token, queued.id))
    rows.push({
      figure: `${WAITERS.toLocaleString('en')} waiters on one build (?wait=60s): the change to the last answer arrived, p99 (the cancel request's start to the last; the last connection closed); Redis connections they added`,
      slipway: `${milliseconds(waited.lastMs)}, p99 ${milliseconds(waited.p99Ms)} (${milliseconds(waited.fromCancelMs)}; ${milliseconds(waited.closedMs)}); ${waited.connectionsAdded} connections`,
      reference: `${milliseconds(heldBare.lastMs)}, p99 ${milliseconds(heldBare.p99Ms)} (closed: ${milliseconds(heldBare.closedMs)}) (bare node:http, the requests held then answered at once with the same bytes)`,
      target: `all within ${TARGETS.waitersMs} ms`,
      met: waited.lastMs <= TARGETS.waitersMs
    })
    await fetch(`${slipway.api}/v1/builds/${running.id}/cancel`, { method: 'POST', headers: { authorization: `Bearer ${token}` } })
    return rows
  }
}

const perSecond = (load: Load) => `${Math.round(load.perSecond).toLocaleString('en')}/s`

/** The medians of some rounds' figures, each taken by itself. */
function medianOf (rounds: Load[]): Load {
  return { perSecond: percentile(rounds.map((round) => round.perSecond), 50), p99Ms: percentile(rounds.map((round) => round.p99Ms), 50) }
}

/** The finished build's GET in the default configuration against the bare server: medians, judged, and each round's share. */
function judgedRow (ours: Load, reference: Load, rounds: Load[], bareRounds: Load[]): Row {
  const share = ours.perSecond / reference.perSecond
  const shares = rounds.map((round, n) => `${(round.perSecond / bareRounds[n]!.perSecond).toFixed(2)}x ${milliseconds(round.p99Ms)}/${milliseconds(bareRounds[n]!.p99Ms)}`)
  return {
    figure: `GET /v1/builds/{id}, finished build: requests/s, p99 (${CONNECTIONS} connections; medians of ${ROUNDS} rounds of ${ROUND_SECONDS} s in turns with the bare server; each round's share and p99s)`,
    slipway: `${perSecond(ours)} (${share.toFixed(2)}x), p99 ${milliseconds(ours.p99Ms)} (${shares.join(', ')})`,
    reference: `${perSecond(reference)}, p99 ${milliseconds(reference.p99Ms)} (bare node:http, same bytes)`,
    target: `>= ${TARGETS.finishedShare}x, p99 <= ${TARGETS.p99Times}x`,
    met: share >= TARGETS.finishedShare && ours.p99Ms <= reference.p99Ms * TARGETS.p99Times
  }
}

/** The build's answer as a client gets it: the body's exact bytes and the headers that describe them. */
async function fetchAnswer (api: string, token: string, id: string): Promise<{ body: Buffer; contentType: string; etag: string | null }> {
  const response = await fetch(`${api}/v1/builds/${id}`, { headers: { authorization: `Bearer ${token}` } })
  if (response.status !== 200) throw new Error(`GET /v1/builds/${id} answered ${response.status}`)
  return { body: Buffer.from(await response.arrayBuffer()), contentType: response.headers.get('content-type') ?? 'application/json', etag: response.headers.get('etag') }
}

async function untilStatus (api: string, token: string, id: string, status: Build['status']): Promise<void> {
  for (let tries = 0; tries < 600; tries++) {
    const build = (await (await fetch(`${api}/v1/builds/${id}`, { headers: { authorization: `Bearer ${token}` } })).json()) as Build
    if (build.status === status) return
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  throw new Error(`reads bench: build ${id} never became ${status}`)
}

/**
 * The reference: node:http alone, answering every request with the same bytes and headers (and a
 * 304 to a matching If-None-Match), in this process: no auth, no routing, no Redis, no logging.
 */
async function startBareServer (scope: Teardown, answer: { body: Buffer; contentType: string; etag: string | null }): Promise<string> {
  const headers = { 'content-type': answer.contentType, 'content-length': answer.body.length, ...(answer.etag ? { etag: answer.etag } : {}) }
  const server = http.createServer((request, response) => {
    if (answer.etag && request.headers['if-none-match'] === answer.etag) return response.writeHead(304, { etag: answer.etag }).end()
    response.writeHead(200, headers).end(answer.body)
  })
  const port = await freePort()
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve))
  scope.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())))
  return `http://127.0.0.1:${port}`
}

const QUIET_IDLE = 0.9
const QUIET_TIMEOUT_MS = 60_000

/**
 * Waits until the machine's CPUs have been at least QUIET_IDLE idle for a second: the builds
 * leave work behind them for a while (BuildKit solving the sleeping build, the worker finishing
 * the finished one), and a row measured meanwhile shares the two cores with it, its reference
 * not. Says so when the machine is not quiet after QUIET_TIMEOUT_MS, and measures anyway.
 */
async function settle (progress: (message: string) => void): Promise<void> {
  const cpuTimes = () => os.cpus().reduce((sum, { times }) => ({ idle: sum.idle + times.idle, all: sum.all + times.idle + times.user + times.nice + times.sys + times.irq }), { idle: 0, all: 0 })
  const started = performance.now()
  let idle = 0
  while (performance.now() - started < QUIET_TIMEOUT_MS) {
    const before = cpuTimes()
    await new Promise((resolve) => setTimeout(resolve, 1000))
    const after = cpuTimes()
    idle = (after.idle - before.idle) / (after.all - before.all)
    if (idle >= QUIET_IDLE) {
      if (performance.now() - started > 1500) progress(`waited ${((performance.now() - started) / 1000).toFixed(0)} s for the machine to settle`)
      return
    }
  }
  progress(`the machine is still busy (${Math.round(idle * 100)}% idle): the next figures share it`)
}

/** wrk against one URL, after a warm-up: requests per second and p99. Throws on any answer but 200 or 304. */
async function load (url: string, token: string, etag: string | null = null, seconds = MEASURE_SECONDS): Promise<Load> {
  const headers = ['-H', `authorization: Bearer ${token}`, ...(etag ? ['-H', `if-none-match: ${etag}`] : [])]
  const wrk = (seconds: number) => exec('wrk', ['-t1', `-c${CONNECTIONS}`, `-d${seconds}s`, '--latency', ...headers, url]).then(({ stdout }) => stdout)
  await wrk(WARM_UP_SECONDS)
  const out = await wrk(seconds)
  const failures = /Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1]
  if (failures) throw new Error(`wrk ${url}: ${failures} answers were not 2xx or 3xx:\n${out}`)
  const perSecond = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1])
  const p99 = /99%\s+([\d.]+)(us|ms|s)\b/.exec(out)
  if (!perSecond || !p99) throw new Error(`wrk ${url}: no figures in its output:\n${out}`)
  return { perSecond, p99Ms: Number(p99[1]) * ({ us: 0.001, ms: 1, s: 1000 } as const)[p99[2] as 'us' | 'ms' | 's'] }
}

/**
 * WAITERS requests on connections of their own, each a bare socket, its request written once and
 * its answer only checked for its status line and its length: Node's HTTP client would spend as
 * much CPU taking in 1,000 answers as the server spends writing them, on the other core.
 * `answered` gets the time each answer had arrived whole (its head and Content-Length bytes of
 * body), `closed` the later end of its connection, which is this client's work more than the server's.
 */
function sendWaiters (scope: Teardown, base: string, path: string, token: string): { answered: number[]; closed: number[]; all: Promise<void> } {
  const { hostname, port } = new URL(base)
  const request = `GET ${path} HTTP/1.1\r\nhost: ${hostname}:${port}\r\nauthorization: Bearer ${token}\r\nconnection: close\r\n\r\n`
  const answered: number[] = []
  const closed: number[] = []
  const waiting = Array.from({ length: WAITERS }, () => new Promise<void>((resolve, reject) => {
    const socket = net.connect(Number(port), hostname, () => socket.write(request))
    let head = ''
    let whole = Infinity
    let received = 0
    let at: number | null = null
    socket.on('data', (chunk: Buffer) => {
      received += chunk.length
      if (head === '') {
        head = chunk.toString('latin1')
        const length = /\r\ncontent-length: *(\d+)/i.exec(head)?.[1]
        if (length !== undefined) whole = head.indexOf('\r\n\r\n') + 4 + Number(length)
      }
      if (at === null && received >= whole) at = performance.now()
    })
    socket.on('end', () => {
      if (!head.startsWith('HTTP/1.1 200') || at === null) return reject(new Error(`a waiter was answered ${head.slice(0, 12) || 'nothing'}${at === null ? ', cut short' : ''}`))
      answered.push(at)
      closed.push(performance.now())
      resolve()
    })
    socket.on('error', reject)
    scope.teardown(() => socket.destroy())
  }))
  return { answered, closed, all: Promise.all(waiting).then(() => undefined) }
}

/**
 * WAITERS requests waiting on one queued build; once the API has them all, the build is canceled
 * (a queued build ends at once, in the API). Measured: from the change (when Redis publishes it,
 * in the same script that makes it, heard here on a subscription of the bench's own) to each
 * answer, and from the cancel request's start to the last; and the Redis connections the API
 * held, waiters open, beyond those it held before.
 */
async function waitersOn (scope: Teardown, slipway: { api: string; config: { redisUrl: string; prefix: string } }, token: string, id: string) {
  const redis = new Redis(slipway.config.redisUrl)
  scope.teardown(() => redis.quit())
  const connections = async () => Number(/connected_clients:(\d+)/.exec(await redis.info('clients'))?.[1])
  const before = await connections()
  const { answered, closed, all } = sendWaiters(scope, slipway.api, `/v1/builds/${id}?wait=60s&status=queued`, token)
  // Every request sent, and a moment for the API to take them in.
  await new Promise((resolve) => setTimeout(resolve, 3000))
  if (answered.length > 0) throw new Error(`${answered.length} waiters were answered before the build changed`)
  const connectionsAdded = (await connections()) - before
  const subscriber = redis.duplicate()
  scope.teardown(() => subscriber.quit())
  let changed: number | null = null
  subscriber.on('message', (_channel: string, message: string) => {
    if (message.startsWith(`${id} `)) changed ??= performance.now()
  })
  await subscriber.subscribe(redisKeys(slipway.config.prefix).buildChanges)
  const asked = performance.now()
  const cancel = await fetch(`${slipway.api}/v1/builds/${id}/cancel`, { method: 'POST', headers: { authorization: `Bearer ${token}` } })
  if (cancel.status !== 202) throw new Error(`cancel answered ${cancel.status}`)
  await all
  if (changed === null) throw new Error(`the change of build ${id} was not published`)
  const delays = answered.map((at) => at - changed!)
  return { lastMs: Math.max(...delays), p99Ms: percentile(delays, 99), fromCancelMs: Math.max(...answered) - asked, closedMs: Math.max(...closed) - changed, connectionsAdded }
}

/**
 * The waiters' reference: the same WAITERS requests held by a bare node:http server in a process
 * of its own (held-requests-server.ts), answered all at once with the bytes the API answered
 * them with; from the moment it is told to answer to each answer.
 */
async function bareWaiters (scope: Teardown, answer: { body: Buffer; contentType: string; etag: string | null }) {
  const server = fork(fileURLToPath(new URL('./held-requests-server.js', import.meta.url)), { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] })
  scope.teardown(() => server.connected && server.disconnect())
  const reply = <T>() => new Promise<T>((resolve) => server.once('message', (message) => resolve(message as T)))
  server.send({ answer: { body: answer.body.toString(), contentType: answer.contentType, etag: answer.etag ?? '' } })
  const { port } = await reply<{ port: number }>()
  const { answered, closed, all } = sendWaiters(scope, `http://127.0.0.1:${port}`, '/v1/builds/held?wait=60s', 'bench')
  for (let tries = 0; ; tries++) {
    await new Promise((resolve) => setTimeout(resolve, 100))
    server.send('held')
    if ((await reply<{ held: number }>()).held === WAITERS) break
    if (tries > 100) throw new Error(`the bare server holds fewer than ${WAITERS} requests after 10 s`)
  }
  const asked = performance.now()
  server.send('answer')
  await all
  const delays = answered.map((at) => at - asked)
  return { lastMs: Math.max(...delays), p99Ms: percentile(delays, 99), closedMs: Math.max(...closed) - asked }
}
