// A soak: a few thousand small builds over many repositories and branches, some failing on purpose
// and some with a webhook, through real Slipway processes with short retention settings, while
// Redis memory, the engine's disk and its build cache are sampled every 30 s. Once the first
// retention period, a sweep and the build cache's idle window have passed (the warm-up), each
// series must stay flat, within 10%, while the builds go on (issue 17, point 5).
//
// The builds run on a Docker daemon of the section's own (test/helpers/dockerd.ts), so the engine
// figures are this run's alone even while other work builds on the machine's engine. Redis is
// shared, so its figure is what the keys under this run's prefix take (MEMORY USAGE of each),
// beside the growth of the whole server's used_memory, which is informative only.
import { execFile } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import path from 'node:path'
import { performance } from 'node:perf_hooks'
import { promisify } from 'node:util'
import type Docker from 'dockerode'
import { Redis } from 'ioredis'
import { parseDuration } from '../src/domain/retention.js'
import type { Build } from '../src/domain/schemas/build.js'
import { SWEEP_INTERVAL_MS } from '../src/services/retention-sweeper.js'
import { PRUNE_INTERVAL_MS } from '../workers/host-space.js'
import { asAdmin } from '../test/helpers/config.js'
import { startDockerd } from '../test/helpers/dockerd.js'
import { createRepo, type TestRepo } from '../test/helpers/git-repo.js'
import { keyPages } from '../test/helpers/redis-keys.js'
import { startRegistry } from '../test/helpers/registry.js'
import type { Teardown } from '../test/helpers/teardown.js'
import { megabytes, type Row, type Section } from './report.js'
import { postBuild, startSlipway, untilEnded } from './slipway.js'

const exec = promisify(execFile)
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** Builds of a run unless SLIPWAY_SOAK_BUILDS says otherwise. */
export const DEFAULT_BUILDS = 2000
const REPOSITORIES = 12
/** Builds are posted at this pace, as long as fewer than IN_FLIGHT are running or queued. */
export const BUILDS_PER_MINUTE = 60
const IN_FLIGHT = 6
const SAMPLE_EVERY_MS = 30_000
const TOLERANCE = 0.1

const RETENTION = '3m'
const LOG_RETENTION = '1m'
const KEEP_LAST = 2
/** Small enough that every prune removes all the cache it may (what has been idle 10 minutes). */
const BUILD_CACHE_MAX_BYTES = 64 * 1024 ** 2
// docs/operations/disk.md: cache used in the last 10 minutes is never pruned, and a worker prunes
// at most once a minute.
const CACHE_IDLE_MS = 10 * 60_000
const RETENTION_MS = parseDuration(RETENTION)!
/**
 * From the first build to the plateau: a removed build's tombstone stays one more retention
 * period, so Redis is full after two periods and a sweep; cache is pruned once idle 10 minutes,
 * by a prune that may come a minute later. The longer of the two.
 */
const WARM_UP_MS = Math.max(2 * RETENTION_MS + SWEEP_INTERVAL_MS, CACHE_IDLE_MS + PRUNE_INTERVAL_MS)
export const WARM_UP_MINUTES = Math.round(WARM_UP_MS / 60_000)

// Branches by the share of builds they get: `broken` fails at its RUN step on purpose.
const REFS = ['main', 'main', 'main', 'main', 'main', 'feature', 'feature', 'release', 'release', 'broken'] as const
const WEBHOOK_EVERY = 5
/** What each build writes, unique to it, so the build cache grows and has to be pruned. */
const BLOB_BYTES = 256 * 1024

const dockerfile = (failing: boolean) => `FROM busybox
ARG SOAK_NONCE
COPY app.txt /app.txt
RUN echo "$SOAK_NONCE" > /nonce && head -c ${BLOB_BYTES} /dev/urandom > /blob${failing ? ' && echo "failing on purpose" && exit 1' : ''}
`

interface Sample {
  elapsedMs: number
  ended: number
  /** MEMORY USAGE summed over the keys under the run's prefix. */
  redisBytes: number
  redisKeys: number
  /** The Redis server's used_memory minus what it was when the section started. */
  usedMemoryGrowth: number
  /** /system/df of the section's engine: image layers, build cache and containers. */
  engineBytes: number
  buildCacheBytes: number
  /** `du` of the engine's data root. */
  dataRootBytes: number
  /** Keys and bytes under the prefix by kind (ids replaced with *), for finding what grows. */
  kinds: Map<string, { keys: number; bytes: number }>
}

interface Submitted {
  n: number
  id: string
  repo: number
  ref: string
  webhook: boolean
  ended?: Build
}

export const soakSection: Section = {
  name: 'soak',
  onlyWhenNamed: true,
  summary: `${DEFAULT_BUILDS} small builds (SLIPWAY_SOAK_BUILDS) with retention ${RETENTION}: Redis memory, engine disk and build cache stay within 10% after warm-up`,
  async run ({ scope, progress }) {
    const total = buildCount()
    const dockerd = await startDockerd(scope)
    const dataRoot = path.join(dockerd.dir, 'data')
    const registry = await startRegistry(scope)
    const receiver = await startCounter(scope)
    const repos: TestRepo[] = []
    for (let i = 0; i < REPOSITORIES; i++) repos.push(await makeRepo(scope, i))
    const { api, config } = await startSlipway(scope, {
      worker: true,
      config: {
        dockerHost: dockerd.host,
        builder: 'buildkit',
        retention: RETENTION,
        logRetention: LOG_RETENTION,
        retentionKeepLast: KEEP_LAST,
        auditRetention: RETENTION,
        buildCacheMaxBytes: BUILD_CACHE_MAX_BYTES,
        webhookAllow: '127.0.0.1/32',
        // The bench's own requests (a POST and a log follow a build, the checks at the end) are
        // not what is measured here.
        rateLimitPerMinute: 1_000_000
      }
    })
    const redis = new Redis(config.redisUrl)
    scope.teardown(() => redis.disconnect())
    const baseline = await usedMemory(redis)
    progress(
      `${total} builds over ${REPOSITORIES} repositories, ${BUILDS_PER_MINUTE} a minute (at most ${IN_FLIGHT} in flight); retention ${RETENTION}, logs ${LOG_RETENTION}, keep last ${KEEP_LAST}, ` +
        `build cache budget ${megabytes(BUILD_CACHE_MAX_BYTES)}; warm-up ${WARM_UP_MINUTES} min, a sample every ${SAMPLE_EVERY_MS / 1000} s`
    )
    progress('   elapsed  ended | redis prefix   keys  used_memory+ | engine df  build cache  data root (du)')

    const began = performance.now()
    const submitted: Submitted[] = []
    let ended = 0
    const samples: Sample[] = []
    const takeSample = async () => {
      const sample = await measure({ redis, prefix: config.prefix, baseline, docker: dockerd.docker, dataRoot, ended, elapsedMs: performance.now() - began })
      samples.push(sample)
      progress(
        `${minutes(sample.elapsedMs).padStart(9)} ${String(sample.ended).padStart(6)} | ${megabytes(sample.redisBytes).padStart(12)} ${String(sample.redisKeys).padStart(6)} ` +
          `${megabytes(sample.usedMemoryGrowth).padStart(13)} | ${megabytes(sample.engineBytes).padStart(9)} ${megabytes(sample.buildCacheBytes).padStart(12)} ${megabytes(sample.dataRootBytes).padStart(14)}`
      )
    }
    let sampling = true
    const sampler = (async () => {
      let next = performance.now()
      while (sampling) {
        await takeSample()
        next += SAMPLE_EVERY_MS
        while (sampling && performance.now() < next) await sleep(Math.min(1000, next - performance.now()))
      }
    })()

    // A steady flow at a fixed pace, so every minute of the run sees the same load; on a machine
    // too slow for the pace, as fast as IN_FLIGHT allows.
    const inFlight = new Set<Promise<void>>()
    const failures: string[] = []
    for (let n = 0; n < total; n++) {
      const due = began + (n * 60_000) / BUILDS_PER_MINUTE
      if (performance.now() < due) await sleep(due - performance.now())
      while (inFlight.size >= IN_FLIGHT) await Promise.race(inFlight)
      const entry = await submit(api, { repos, registryHost: registry.host, receiverUrl: receiver.url }, n)
      submitted.push(entry)
      const following: Promise<void> = untilEnded(api, entry.id)
        .then((build) => {
          entry.ended = build
        })
        .catch((error: unknown) => {
          failures.push(`build ${n} (${entry.id}): ${String(error)}`)
        })
        .finally(() => {
          ended++
          inFlight.delete(following)
        })
      inFlight.add(following)
    }
    await Promise.all(inFlight)
    sampling = false
    await sampler
    await takeSample()
    const durationMs = performance.now() - began
    if (failures.length > 0) throw new Error(`${failures.length} builds could not be followed to their end, e.g. ${failures.slice(0, 3).join('; ')}`)

    const plateau = samples.filter((sample) => sample.elapsedMs >= WARM_UP_MS)
    printKinds(progress, plateau[0] ?? samples[0]!, samples.at(-1)!)
    const retention = await checkRetention(api, submitted)
    progress(`retention checks: ${retention.expired.answered410} of ${retention.expired.asked} builds past retention answered 410 BUILD_EXPIRED; ` +
      `${retention.kept.answered200} of ${retention.kept.asked} newest builds of their branch answered 200` +
      (retention.problems.length > 0 ? `; e.g. ${retention.problems.slice(0, 3).join('; ')}` : ''))

    const succeeded = submitted.filter((entry) => entry.ended?.status === 'succeeded').length
    const failed = submitted.filter((entry) => entry.ended?.status === 'failed').length
    const unexpected = submitted.filter((entry) => entry.ended?.status !== (entry.ref === 'broken' ? 'failed' : 'succeeded'))
    const withWebhook = submitted.filter((entry) => entry.webhook).length
    if (unexpected.length > 0) {
      progress(`builds that ended otherwise than meant, e.g. ${unexpected.slice(0, 3).map((entry) => `${entry.id} on ${entry.ref}: ${entry.ended?.status} ${JSON.stringify(entry.ended?.error)}`).join('; ')}`)
    }

    const rows: Row[] = [
      {
        figure: 'soak: builds ended as meant (broken branch failed, others succeeded)',
        slipway: `${total - unexpected.length} of ${total} in ${minutes(durationMs)} (${succeeded} succeeded, ${failed} failed; ${withWebhook} with a webhook, ${receiver.count()} deliveries)`,
        reference: '',
        target: 'all',
        met: unexpected.length === 0
      },
      plateauRow('soak: Redis memory of the run\'s keys after warm-up', plateau, (sample) => sample.redisBytes, megabytes),
      plateauRow('soak: Redis keys of the run after warm-up', plateau, (sample) => sample.redisKeys, (value) => value.toFixed(0)),
      { ...plateauRow('soak: Redis used_memory over its start (shared server)', plateau, (sample) => sample.usedMemoryGrowth, megabytes), target: '', met: null },
      plateauRow('soak: engine disk used (/system/df) after warm-up', plateau, (sample) => sample.engineBytes, megabytes),
      plateauRow('soak: build cache after warm-up', plateau, (sample) => sample.buildCacheBytes, megabytes),
      { ...plateauRow('soak: engine data root on disk (du) after warm-up', plateau, (sample) => sample.dataRootBytes, megabytes), target: '', met: null },
      {
        figure: `soak: builds past retention (${RETENTION}) answer 410 BUILD_EXPIRED`,
        slipway: `${retention.expired.answered410} of ${retention.expired.asked}`,
        reference: '',
        target: 'all (at least one asked)',
        met: retention.expired.asked > 0 && retention.expired.answered410 === retention.expired.asked
      },
      {
        figure: `soak: newest ${KEEP_LAST} builds of each branch answer 200`,
        slipway: `${retention.kept.answered200} of ${retention.kept.asked}`,
        reference: '',
        target: 'all',
        met: retention.kept.asked > 0 && retention.kept.answered200 === retention.kept.asked
      }
    ]
    return rows
  }
}

function buildCount (): number {
  const text = process.env.SLIPWAY_SOAK_BUILDS
  if (text === undefined || text === '') return DEFAULT_BUILDS
  const count = Number(text)
  if (!Number.isInteger(count) || count < 1) throw new Error(`SLIPWAY_SOAK_BUILDS must be a whole number of builds, 1 or more, not ${JSON.stringify(text)}`)
  return count
}

/** A repository with the branches builds are spread over; `broken`'s build fails at its RUN step. */
async function makeRepo (scope: Teardown, i: number): Promise<TestRepo> {
  const repo = await createRepo(scope, { Dockerfile: dockerfile(false), 'app.txt': `repository ${i}\n` })
  for (const branch of ['feature', 'release', 'broken']) {
    await repo.branch(branch)
    await repo.checkout(branch)
    await repo.commit(branch === 'broken' ? { Dockerfile: dockerfile(true) } : { 'app.txt': `repository ${i}, ${branch}\n` }, branch)
    await repo.checkout('main')
  }
  return repo
}

/** Build n: repositories in turn, and each repository's branches in their shares. */
async function submit (api: string, to: { repos: TestRepo[]; registryHost: string; receiverUrl: string }, n: number): Promise<Submitted> {
  const { registryHost, receiverUrl } = to
  const repo = n % REPOSITORIES
  const ref = REFS[Math.floor(n / REPOSITORIES) % REFS.length]!
  const webhook = n % WEBHOOK_EVERY === 0
  const build = await postBuild(api, {
    repo: to.repos[repo]!.url,
    ref,
    image: `${registryHost}/soak/repo-${repo}`,
    tags: [`b${n}`],
    buildArgs: { SOAK_NONCE: `${n}-${randomBytes(8).toString('hex')}` },
    ...(webhook ? { webhooks: [{ url: `${receiverUrl}/build-${n}` }] } : {})
  })
  return { n, id: build.id, repo, ref, webhook }
}

/** A webhook receiver that answers 200 and only counts what it got. */
async function startCounter (scope: Teardown): Promise<{ url: string; count: () => number }> {
  let count = 0
  const server = createServer((request, response) => {
    request.resume()
    request.on('end', () => {
      count++
      response.writeHead(200).end()
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  scope.teardown(() => new Promise((resolve) => server.close(resolve)))
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, count: () => count }
}

async function usedMemory (redis: Redis): Promise<number> {
  return Number(/^used_memory:(\d+)/m.exec(await redis.info('memory'))?.[1])
}

/** A key's kind: the key without the prefix, with every id-like part replaced by *. */
function kindOf (key: string, prefix: string): string {
  return key
    .slice(prefix.length + 1)
    .replace(/\{[^}]*\}/g, '{*}')
    .split(':')
    .map((part) => ((/\d/.test(part) && part.length >= 6) || part.includes('/') ? '*' : part))
    .join(':')
}

async function measure (what: { redis: Redis; prefix: string; baseline: number; docker: Docker; dataRoot: string; ended: number; elapsedMs: number }): Promise<Sample> {
  const { redis, prefix } = what
  const kinds = new Map<string, { keys: number; bytes: number }>()
  let redisBytes = 0
  let redisKeys = 0
  for await (const keys of keyPages(redis, `${prefix}:*`)) {
    const pipeline = redis.pipeline()
    for (const key of keys) pipeline.memory('USAGE', key)
    const answers = (await pipeline.exec()) ?? []
    keys.forEach((key, i) => {
      // A key removed between the scan and the pipeline answers null.
      const bytes = Number(answers[i]?.[1] ?? 0)
      if (!bytes) return
      redisBytes += bytes
      redisKeys++
      const kind = kindOf(key, prefix)
      const entry = kinds.get(kind) ?? { keys: 0, bytes: 0 }
      entry.keys++
      entry.bytes += bytes
      kinds.set(kind, entry)
    })
  }
  const df = (await what.docker.df()) as {
    LayersSize?: number
    Containers?: { SizeRw?: number }[]
    BuildCache?: { Size?: number }[]
  }
  const buildCacheBytes = (df.BuildCache ?? []).reduce((sum, record) => sum + (record.Size ?? 0), 0)
  const containersBytes = (df.Containers ?? []).reduce((sum, container) => sum + (container.SizeRw ?? 0), 0)
  // -x: not into the overlay mounts of running steps, whose files are counted in their layers.
  const du = await exec('du', ['-sbx', what.dataRoot]).then(({ stdout }) => Number(stdout.split('\t')[0]), () => NaN)
  return {
    elapsedMs: what.elapsedMs,
    ended: what.ended,
    redisBytes,
    redisKeys,
    usedMemoryGrowth: (await usedMemory(redis)) - what.baseline,
    engineBytes: (df.LayersSize ?? 0) + buildCacheBytes + containersBytes,
    buildCacheBytes,
    dataRootBytes: du,
    kinds
  }
}

/** What the run's keys are, by kind, when the plateau began and at the end: what grew shows here. */
function printKinds (progress: (message: string) => void, first: Sample, last: Sample): void {
  const names = [...new Set([...first.kinds.keys(), ...last.kinds.keys()])].sort(
    (a, b) => (last.kinds.get(b)?.bytes ?? 0) - (last.kinds.get(a)?.bytes ?? 0)
  )
  progress(`the run's Redis keys by kind, at ${minutes(first.elapsedMs)} and at ${minutes(last.elapsedMs)} (keys, bytes):`)
  for (const name of names) {
    const at = (sample: Sample) => {
      const entry = sample.kinds.get(name)
      return entry ? `${entry.keys} keys, ${(entry.bytes / 1024).toFixed(0)} KiB` : '-'
    }
    progress(`  ${name.padEnd(40)} ${at(first).padStart(22)}  ->  ${at(last).padStart(22)}`)
  }
}

/**
 * Builds that ended longer ago than the retention, a sweep and a margin, and not so long ago that
 * their tombstone (kept one more retention period) may have gone, must answer 410 BUILD_EXPIRED;
 * the newest KEEP_LAST builds of each repository and branch must answer 200.
 */
async function checkRetention (api: string, submitted: Submitted[]) {
  const now = Date.now()
  const problems: string[] = []
  const newest = new Set<string>()
  const byRef = new Map<string, Submitted[]>()
  for (const entry of submitted) {
    const group = `${entry.repo} ${entry.ref}`
    byRef.set(group, [...(byRef.get(group) ?? []), entry])
  }
  for (const entries of byRef.values()) for (const entry of entries.slice(-KEEP_LAST)) newest.add(entry.id)
  const margin = 15_000
  const expiredCandidates = submitted.filter((entry) => {
    const finishedAt = Date.parse(entry.ended?.finishedAt ?? '')
    const age = now - finishedAt
    return !newest.has(entry.id) && age > RETENTION_MS + SWEEP_INTERVAL_MS + margin && age < 2 * RETENTION_MS - margin
  })
  const get = async (id: string) => {
    const response = await fetch(`${api}/v1/builds/${id}`, { headers: asAdmin() })
    const body = (await response.json()) as { code?: string }
    return { status: response.status, code: body.code }
  }
  let answered410 = 0
  for (const entry of expiredCandidates) {
    const answer = await get(entry.id)
    if (answer.status === 410 && answer.code === 'BUILD_EXPIRED') answered410++
    else problems.push(`${entry.id}, ended ${entry.ended?.finishedAt}, answered ${answer.status} ${answer.code ?? ''}`)
  }
  let answered200 = 0
  for (const id of newest) {
    const answer = await get(id)
    if (answer.status === 200) answered200++
    else problems.push(`newest ${id} answered ${answer.status} ${answer.code ?? ''}`)
  }
  return { expired: { asked: expiredCandidates.length, answered410 }, kept: { asked: newest.size, answered200 }, problems }
}

/**
 * A series after warm-up against the 10% target. Flat means: at least 4 samples, every one within
 * 10% of their mean, and the mean of the last quarter of them within 10% of the first quarter's.
 */
function plateauRow (figure: string, plateau: Sample[], value: (sample: Sample) => number, unit: (value: number) => string): Row {
  const target = `every sample within ±${TOLERANCE * 100}% of the mean, drift ≤ ${TOLERANCE * 100}%`
  if (plateau.length < 4) {
    return { figure, slipway: `not measured: ${plateau.length} samples after the ${WARM_UP_MINUTES}-minute warm-up (run more builds)`, reference: '', target, met: false }
  }
  const values = plateau.map(value)
  const mean = average(values)
  const quarter = Math.max(1, Math.floor(values.length / 4))
  const drift = average(values.slice(-quarter)) / average(values.slice(0, quarter)) - 1
  const low = Math.min(...values) / mean - 1
  const high = Math.max(...values) / mean - 1
  const percent = (ratio: number) => `${ratio >= 0 ? '+' : ''}${(ratio * 100).toFixed(1)}%`
  return {
    figure,
    slipway: `${unit(mean)} (${unit(Math.min(...values))}–${unit(Math.max(...values))}: ${percent(low)} / ${percent(high)}; drift ${percent(drift)}; ${values.length} samples)`,
    reference: '',
    target,
    met: -low <= TOLERANCE && high <= TOLERANCE && Math.abs(drift) <= TOLERANCE
  }
}

const average = (values: number[]) => values.reduce((sum, value) => sum + value, 0) / values.length
const minutes = (ms: number) => `${(ms / 60_000).toFixed(1)} min`
