// The build list as history grows: GET /v1/builds (its first page, and a page from the middle of
// history through a cursor) and the API process's memory, with 100 and with 100,000 stored builds.
// Builds are seeded through the BuildStore itself, so the records and their indexes are exactly
// those the API reads; the requests go over HTTP to a real API process.
import { performance } from 'node:perf_hooks'
import { Redis } from 'ioredis'
import { newBuildRecord } from '../src/domain/builds/build-request.js'
import { createBuildStore, type BuildStore } from '../src/storage/build-store.js'
import { redisKeys } from '../src/storage/keys.js'
import { newId } from '../src/domain/ids.js'
import type { BuildRecord } from '../src/domain/schemas/build.js'
import { asAdmin } from '../test/helpers/config.js'
import { defaultRequest } from '../test/helpers/fixtures.js'
import { megabytes, milliseconds, percentile, type Row, type Section } from './report.js'
import { memoryOf, startSlipway } from './slipway.js'

const SIZES = [100, 100_000] as const
const REQUESTS_PER_PAGE = 200
const WARM_UP_REQUESTS = 20
// Builds written to Redis at once while seeding: enough to keep the connection full.
const SEED_BATCH = 2000
const REPOS = 50
// Within 2x of the small history: the page must not grow with the history behind it.
const GROWTH_ALLOWED = 2
const HISTORY_STARTS = Date.now() - SIZES[SIZES.length - 1]! * 10_000

interface Measured {
  firstPage: number[]
  laterPage: number[]
  rssBytes: number
}

export const listSection: Section = {
  name: 'list',
  summary: `GET /v1/builds (first page, a cursor page) and API memory with ${SIZES.map((size) => size.toLocaleString('en')).join(' and ')} stored builds`,
  async run ({ scope, progress }) {
    const slipway = await startSlipway(scope, { worker: false, config: { rateLimitPerMinute: 100_000_000 } })
    const redis = new Redis(slipway.config.redisUrl)
    scope.teardown(() => redis.quit())
    const store = createBuildStore(redis, redisKeys(slipway.config.prefix))
    const seeded: string[] = []
    const measured: Measured[] = []
    for (const size of SIZES) {
      const started = performance.now()
      await seed(store, seeded, size)
      progress(`${size.toLocaleString('en')} builds stored (seeding took ${((performance.now() - started) / 1000).toFixed(1)} s); timing pages`)
      // A cursor from the middle of history: the page behind it is as deep as pages get.
      const middle = seeded[Math.floor(seeded.length / 2)]!
      measured.push({
        firstPage: await timePage(`${slipway.api}/v1/builds`),
        laterPage: await timePage(`${slipway.api}/v1/builds?cursor=${middle}`),
        rssBytes: (await memoryOf(slipway.apiPid)).rss
      })
    }
    const [small, large] = measured as [Measured, Measured]
    return [
      ...pageRows('first page', small.firstPage, large.firstPage),
      ...pageRows('a page from the middle (cursor)', small.laterPage, large.laterPage),
      ...SIZES.map((size, i) => ({
        figure: `API RSS after listing, ${size.toLocaleString('en')} builds`,
        slipway: megabytes(measured[i]!.rssBytes),
        reference: '',
        target: '',
        met: null
      }))
    ]
  }
}

/** Rows for one page at both sizes; the large one is held to the small one's p50. */
function pageRows (page: string, small: number[], large: number[]): Row[] {
  const describe = (times: number[]) => `${milliseconds(percentile(times, 50))} / ${milliseconds(percentile(times, 99))}`
  const allowed = percentile(small, 50) * GROWTH_ALLOWED
  return [
    { figure: `GET /v1/builds ${page}, ${SIZES[0]} builds (p50 / p99)`, slipway: describe(small), reference: '', target: '', met: null },
    {
      figure: `GET /v1/builds ${page}, ${SIZES[1].toLocaleString('en')} builds (p50 / p99)`,
      slipway: describe(large),
      reference: '',
      target: `p50 <= ${GROWTH_ALLOWED}x that at ${SIZES[0]} (${milliseconds(allowed)})`,
      met: percentile(large, 50) <= allowed
    }
  ]
}

/**
 * Stores finished builds, oldest first, until there are `size`; their ids are added to `seeded`.
 * The n-th build of the bench was made at a fixed time, one every ten seconds up to now, so its id
 * (a ULID) sorts by that time as real ones do, and builds added later are the newer ones.
 */
async function seed (store: BuildStore, seeded: string[], size: number): Promise<void> {
  while (seeded.length < size) {
    const batch: BuildRecord[] = []
    for (let n = seeded.length; n < Math.min(size, seeded.length + SEED_BATCH); n++) {
      const createdAt = HISTORY_STARTS + n * 10_000
      batch.push(finishedBuild(newId(createdAt), n, new Date(createdAt)))
    }
    await Promise.all(batch.map((record) => store.create(record)))
    seeded.push(...batch.map((record) => record.id))
  }
}

/** The n-th seeded build: mostly succeeded with an image, some failed, a few canceled, across a few repos. */
function finishedBuild (id: string, n: number, createdAt: Date): BuildRecord {
  const repo = `https://git.example.com/team/app-${n % REPOS}.git`
  const request = { ...defaultRequest(repo, `registry.example.com/team/app-${n % REPOS}`), ref: 'main', push: true }
  const at = (ms: number) => new Date(createdAt.getTime() + ms).toISOString()
  const phase = (name: 'clone' | 'context' | 'build' | 'push' | 'inspect', from: number, to: number) => ({
    name,
    status: 'succeeded' as const,
    startedAt: at(from),
    finishedAt: at(to),
    durationMs: to - from
  })
  const base = { ...newBuildRecord(id, request, createdAt), commit: (n * 2654435761).toString(16).padStart(40, '0').slice(-40), resolvedRef: 'refs/heads/main' }
  const started = { ...base, startedAt: at(40), attempts: 1, builder: 'buildkit' as const, finishedAt: at(9_040), durationMs: 9_000 }
  if (n % 50 === 1) {
    return { ...started, status: 'canceled', phases: [phase('clone', 40, 300)], error: { code: 'CANCELED', message: 'Canceled by request (POST /v1/builds/{id}/cancel).', phase: 'build' } }
  }
  const steps = ['FROM docker.io/library/node:20-slim', 'COPY package*.json ./', 'RUN npm ci', 'COPY . .'].map((instruction, i) => ({
    stage: '0',
    instruction,
    status: 'succeeded' as const,
    cached: i < 2,
    startedAt: at(600 + i * 1_000),
    durationMs: 900
  }))
  if (n % 20 === 0) {
    return {
      ...started,
      status: 'failed',
      phases: [phase('clone', 40, 300), phase('context', 300, 500), { ...phase('build', 500, 9_040), status: 'failed' }],
      steps: [...steps.slice(0, 2), { ...steps[2]!, status: 'failed', exitCode: 1 }],
      error: { code: 'BUILD_STEP_FAILED', message: 'RUN npm ci exited with 1.', phase: 'build', step: 'RUN npm ci', exitCode: 1 }
    }
  }
  const layers = steps.map((step, i) => ({ instruction: step.instruction, sizeBytes: [74_800_000, 1_200, 48_000_000, 2_400_000][i]!, createdAt: step.startedAt, line: i + 1, stage: '0', fromBase: i === 0 }))
  return {
    ...started,
    status: 'succeeded',
    phases: [phase('clone', 40, 300), phase('context', 300, 500), phase('build', 500, 7_000), phase('push', 7_000, 8_800), phase('inspect', 8_800, 9_040)],
    steps,
    image: {
      id: `sha256:${id.toLowerCase().padEnd(64, '0')}`,
      repository: request.image,
      tags: [`${request.image}:${base.commit.slice(0, 12)}`],
      pushed: true,
      digest: `sha256:${base.commit}${base.commit.slice(0, 24)}`,
      sizeBytes: 125_201_200,
      layers,
      baseBytes: 74_800_000,
      addedBytes: 50_401_200,
      sizeDelta: null,
      findings: [{ rule: 'package-cache-kept', lines: [3], stage: '0', message: 'npm keeps its cache in the layer: add `npm cache clean --force` to the same RUN.', bytes: 48_000_000 }],
      budget: null
    }
  }
}

/** Response times of one list page, asked for one request after another, in ms. */
async function timePage (url: string): Promise<number[]> {
  const times: number[] = []
  for (let n = 0; n < WARM_UP_REQUESTS + REQUESTS_PER_PAGE; n++) {
    const started = performance.now()
    const response = await fetch(url, { headers: asAdmin() })
    const page = (await response.json()) as { items: unknown[] }
    if (response.status !== 200 || page.items.length === 0) throw new Error(`GET ${url} answered ${response.status} with ${page.items.length} builds`)
    if (n >= WARM_UP_REQUESTS) times.push(performance.now() - started)
  }
  return times
}
