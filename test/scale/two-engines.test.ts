import { randomBytes } from 'node:crypto'
import { existsSync } from 'node:fs'
import { rm } from 'node:fs/promises'
import type Docker from 'dockerode'
import { Redis } from 'ioredis'
import t from 'tap'
import { decodeLogEntry } from '../../src/storage/build-log.js'
import { redisKeys } from '../../src/storage/keys.js'
import { TERMINAL_STATUSES, type Build } from '../../src/domain/schemas/build.js'
import { asAdmin, testConfig } from '../helpers/config.js'
import { docker as mainEngine, registryDigest } from '../helpers/docker.js'
import { startDockerd } from '../helpers/dockerd.js'
import { createRepo } from '../helpers/git-repo.js'
import { freePort } from '../helpers/ports.js'
import { startSlipwayProcess } from '../helpers/processes.js'
import { startRedisServer } from '../helpers/redis-server.js'
import { startRegistry } from '../helpers/registry.js'

// Slipway across two Docker hosts, as docs/operations/scaling.md describes it: one API process, one queue
// (one Redis prefix), one registry, and two worker processes, each with DOCKER_HOST pointing at a
// Docker daemon of its own. Both daemons are started by this test (the machine's main daemon only
// lends them busybox), so a worker that ignored DOCKER_HOST and built on the main daemon would
// leave its image on neither of them and fail the test. Redis is one of the test's own (with an
// append-only file, as production runs it), so the commands and memory it reports are these
// builds' alone; docs/operations/scaling.md quotes them.

const BUILDS = 40
const CONCURRENCY = 2
const REPOSITORY = 'scale/app'
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))
const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`

function percentile (values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN
}

/** Calls per command from INFO commandstats. */
async function commandCalls (redis: Redis): Promise<Map<string, number>> {
  const calls = new Map<string, number>()
  for (const match of (await redis.info('commandstats')).matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) calls.set(match[1]!, Number(match[2]))
  return calls
}

function callsSince (before: Map<string, number>, after: Map<string, number>): { total: number; top: string } {
  const delta = [...after].map(([name, calls]) => [name, calls - (before.get(name) ?? 0)] as const).filter(([, calls]) => calls > 0)
  delta.sort((a, b) => b[1] - a[1])
  return { total: delta.reduce((sum, [, calls]) => sum + calls, 0), top: delta.slice(0, 6).map(([name, calls]) => `${name} ${calls}`).join(', ') }
}

const usedMemory = async (redis: Redis) => Number(/^used_memory:(\d+)/m.exec(await redis.info('memory'))?.[1] ?? NaN)

/** The most builds whose [startedAt, finishedAt] overlap at any moment. */
function peakOverlap (builds: Build[]): number {
  const edges = builds.flatMap((build) => [
    { at: Date.parse(build.startedAt!), step: 1 },
    { at: Date.parse(build.finishedAt!), step: -1 }
  ])
  edges.sort((a, b) => a.at - b.at || a.step - b.step)
  let now = 0
  let peak = 0
  for (const edge of edges) peak = Math.max(peak, (now += edge.step))
  return peak
}

t.test(`${BUILDS} builds through one API and one queue, on two workers with a Docker engine each`, async (t) => {
  const began = Date.now()
  const hadDocker0 = existsSync('/sys/class/net/docker0')

  const engines = await Promise.all([startDockerd(t), startDockerd(t)])
  const enginesUp = Date.now()
  const [registry, redisServer, port] = await Promise.all([startRegistry(t), startRedisServer(t), freePort()])
  // Polling 40 builds is far below the default rate limit, but a slow machine should not be refused.
  const config = testConfig(t, { redisUrl: redisServer.url, port, concurrency: CONCURRENCY, rateLimitPerMinute: 100_000 })
  const redis = new Redis(config.redisUrl)
  t.teardown(() => redis.quit())
  t.teardown(() => rm(config.workDir, { recursive: true, force: true }))
  await Promise.all([
    startSlipwayProcess(t, config, 'api'),
    ...engines.map((engine) => startSlipwayProcess(t, { ...config, dockerHost: engine.host }, 'worker'))
  ])
  const processesUp = Date.now()
  const repo = await createRepo(t, { Dockerfile: 'FROM busybox\nARG NONCE\nRUN echo "$NONCE" > /nonce\n' })
  const [busyFrom, memoryFrom] = [await commandCalls(redis), await usedMemory(redis)]
  // Connections one API process and two worker processes hold (this test's own client not counted).
  const connections = String(await redis.client('LIST')).split('\n').filter(Boolean).length - 1

  const api = async (method: 'GET' | 'POST', url: string, body?: unknown) => {
    const response = await fetch(`http://127.0.0.1:${port}${url}`, {
      method,
      headers: asAdmin(body === undefined ? {} : { 'content-type': 'application/json' }),
      ...(body === undefined ? {} : { body: JSON.stringify(body) })
    })
    return { status: response.status, headers: response.headers, body: (await response.json()) }
  }

  // Every build distinct (its own NONCE), so none joins another or reuses another's image.
  const run = randomBytes(4).toString('hex')
  const submitted = await Promise.all(
    Array.from({ length: BUILDS }, async (_, n) => {
      const answer = await api('POST', '/v1/builds', {
        repo: repo.url,
        image: `${registry.host}/${REPOSITORY}`,
        tags: [`b${n}`],
        buildArgs: { NONCE: `${run}-${n}` }
      })
      return { n, ...answer }
    })
  )
  const submittedAt = Date.now()
  const refused = submitted.filter((answer) => answer.status !== 202)
  t.same(refused.map((answer) => `${answer.n}: ${answer.status} ${JSON.stringify(answer.body)}`), [], 'every build accepted (202)')
  t.same(
    submitted.filter((answer) => answer.headers.get('slipway-joined') !== null).map((answer) => answer.n),
    [],
    'no build joined another'
  )
  const accepted = submitted.filter((answer) => answer.status === 202).map((answer) => ({ n: answer.n, id: (answer.body as Build).id }))
  t.equal(new Set(accepted.map((build) => build.id)).size, BUILDS, `${BUILDS} distinct builds`)

  // Waiting asks Redis how many builds have ended (four ZCARDs of the status indexes) rather than
  // polling the API, so the command counts below are the builds' own; the API then confirms.
  const keys = redisKeys(config.prefix)
  const ended = async () => (await Promise.all(TERMINAL_STATUSES.map((status) => redis.zcard(keys.buildsByStatus(status))))).reduce((a, b) => a + b, 0)
  const deadline = Date.now() + 100_000
  let listed: Build[] = []
  for (;;) {
    if ((await ended()) >= BUILDS || Date.now() > deadline) {
      listed = ((await api('GET', '/v1/builds?limit=100')).body as { items: Build[] }).items
      if ((listed.length >= BUILDS && listed.every((build) => TERMINAL_STATUSES.includes(build.status))) || Date.now() > deadline) break
    }
    await sleep(250)
  }
  const allEnded = Date.now()
  const busy = callsSince(busyFrom, await commandCalls(redis))
  const memoryGrowth = (await usedMemory(redis)) - memoryFrom
  t.equal(listed.length, BUILDS, 'the queue holds exactly the builds submitted: none lost, none extra')
  t.same(
    listed.filter((build) => !TERMINAL_STATUSES.includes(build.status)).map((build) => `${build.id} ${build.status}`),
    [],
    'none stuck'
  )

  const builtOn: Record<number, Build[]> = { 0: [], 1: [] }
  const pushedBy = new Map<number, Set<string>>()
  for (const [index, engine] of engines.entries()) pushedBy.set(index, await pushedTags(engine.docker, began))
  const builds: Build[] = []
  for (const { n, id } of accepted) {
    const build = (await api('GET', `/v1/builds/${id}`)).body as Build
    builds.push(build)
    const terminalEvents = (await redis.xrange(keys.log(id), '-', '+'))
      .map(([entryId, fields]) => decodeLogEntry(entryId, fields))
      .filter((event) => event.kind === 'status' && TERMINAL_STATUSES.includes(event.status))
    t.equal(terminalEvents.length, 1, `b${n}: exactly one terminal state (${build.status})`)
    if (build.status !== 'succeeded') {
      t.fail(`b${n} ${id}: ${build.status} ${JSON.stringify(build.error)}`)
      continue
    }
    t.equal(build.attempts, 1, `b${n}: started once`)
    t.equal(build.reusedFrom, null, `b${n}: built, not reused`)
    const tag = `${registry.host}/${REPOSITORY}:b${n}`
    t.match(build.image?.digest, /^sha256:[0-9a-f]{64}$/, `b${n}: pushed, with a digest`)
    t.equal(await registryDigest(registry.host, REPOSITORY, `b${n}`), build.image?.digest, `b${n}: the registry holds the digest the build reports`)
    // Which engine built it: exactly one of them pushed the tag (a worker removes a pushed image's
    // tags from its engine afterwards, so the engines' events say it, not their images).
    const holders = [...pushedBy.entries()].flatMap(([index, tags]) => (tags.has(tag) ? [index] : []))
    t.equal(holders.length, 1, `b${n}: its image is on exactly one engine (${holders.join(', ') || 'none'})`)
    if (holders.length === 1) builtOn[holders[0]!]!.push(build)
  }

  const [onA, onB] = [builtOn[0]!, builtOn[1]!]
  t.ok(onA.length > 0 && onB.length > 0, `both engines built (${onA.length} + ${onB.length})`)
  t.equal(onA.length + onB.length, BUILDS, 'every image is accounted for on one engine')
  for (const [name, onEngine] of [['A', onA], ['B', onB]] as const) {
    if (onEngine.length === 0) continue
    t.ok(peakOverlap(onEngine) <= CONCURRENCY, `engine ${name}: at most ${CONCURRENCY} builds at once (peak ${peakOverlap(onEngine)})`)
  }

  // The machine's own daemon was not disturbed by the two beside it.
  t.ok(await mainEngine.ping().then(() => true, () => false), 'the main Docker daemon still answers')
  if (hadDocker0) t.ok(existsSync('/sys/class/net/docker0'), "the main daemon's docker0 bridge is still there")

  const succeeded = builds.filter((build) => build.status === 'succeeded' && build.startedAt && build.finishedAt)
  const durations = succeeded.map((build) => build.durationMs ?? 0)
  const waits = succeeded.map((build) => Date.parse(build.startedAt!) - Date.parse(build.createdAt))
  const phaseMedians = ['clone', 'context', 'build', 'push', 'inspect']
    .map((name) => {
      const values = succeeded.flatMap((build) => build.phases.filter((phase) => phase.name === name).map((phase) => phase.durationMs ?? 0))
      return values.length > 0 ? `${name} ${percentile(values, 50)}` : ''
    })
    .filter(Boolean)
    .join(', ')
  const recordBytes = await Promise.all(accepted.map(({ id }) => redis.memory('USAGE', keys.build(id), 'SAMPLES', 0).then(Number)))
  const logBytes = await Promise.all(accepted.map(({ id }) => redis.memory('USAGE', keys.log(id), 'SAMPLES', 0).then(Number)))
  // Every build announces three events on the webhook queue, subscribers or not; BullMQ keeps those jobs a week.
  const eventJobBytes = await Promise.all(
    accepted.map(async ({ id }) => {
      const sizes = await Promise.all(['queued', 'started', 'succeeded'].map((event) => redis.memory('USAGE', `${config.prefix}:webhooks:${id}.build.${event}`, 'SAMPLES', 0)))
      return sizes.reduce<number>((sum, size) => sum + Number(size ?? 0), 0)
    })
  )
  const elapsed = allEnded - submittedAt
  t.comment(
    `timings: 2 daemons up (busybox loaded) ${seconds(enginesUp - began)}; API + 2 workers up ${seconds(processesUp - enginesUp)}; ` +
      `${BUILDS} submitted in ${submittedAt - processesUp} ms; all ended ${seconds(elapsed)} after submitting ` +
      `(${((BUILDS / elapsed) * 60_000).toFixed(0)} builds/min); whole test ${seconds(Date.now() - began)}`
  )
  t.comment(
    `per build: duration p50 ${percentile(durations, 50)} ms, p95 ${percentile(durations, 95)} ms, max ${Math.max(...durations)} ms; ` +
      `queue wait p50 ${percentile(waits, 50)} ms, p95 ${percentile(waits, 95)} ms; phase medians (ms): ${phaseMedians}; ` +
      `split A/B ${onA.length}/${onB.length}; builder ${succeeded[0]?.builder}`
  )
  t.comment(
    `redis: ${connections} connections; ${BUILDS} builds ${busy.total} commands (${(busy.total / BUILDS).toFixed(0)} per build, ` +
      `${((busy.total / elapsed) * 1000).toFixed(0)}/s, the test's own polling included; ${busy.top}); ` +
      `memory +${(memoryGrowth / BUILDS / 1024).toFixed(1)} KiB per build; record p50 ${percentile(recordBytes, 50)} B, ` +
      `log stream p50 ${percentile(logBytes, 50)} B, webhook event jobs p50 ${percentile(eventJobBytes, 50)} B`
  )
})

/** The tags an engine pushed since `sinceMs`, read from its events. */
async function pushedTags (engine: Docker, sinceMs: number): Promise<Set<string>> {
  const stream = await engine.getEvents({
    since: Math.floor(sinceMs / 1000),
    until: Math.ceil(Date.now() / 1000),
    filters: JSON.stringify({ type: ['image'], event: ['push'] })
  })
  const tags = new Set<string>()
  let rest = ''
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    const lines = (rest + chunk.toString('utf8')).split('\n')
    rest = lines.pop() ?? ''
    for (const line of lines) if (line.trim()) tags.add((JSON.parse(line) as { Actor: { ID: string } }).Actor.ID)
  }
  return tags
}
