// Bench 5a: the registry cache across engines. A repository built and pushed on engine A is built
// again on engine B with an empty cache, without and with the registry cache, against the same
// build warm on A. Both engines are daemons of the section's own (test/helpers/dockerd.ts); B's
// cache is emptied before each of its builds, so every one runs on an engine that has never
// built the repository. One API and one queue; A's worker builds first, then it stops and B's
// worker takes over, so each build runs where the figure says. Every build is forced (no reuse)
// and pushed; times run from the POST to the end of the build's log stream.
import { performance } from 'node:perf_hooks'
import { randomBytes } from 'node:crypto'
import type { Build } from '../src/domain/schemas/build.js'
import { forgetBuilds, startDockerd } from '../test/helpers/dockerd.js'
import { createRepo } from '../test/helpers/git-repo.js'
import { isAlive, startSlipwayProcess } from '../test/helpers/processes.js'
import { startRegistry } from '../test/helpers/registry.js'
import { percentile, type Section } from './report.js'
import { postBuild, startSlipway, untilEnded } from './slipway.js'

const SAMPLES = 3
const WARM_TARGET_RATIO = 1.5
const COLD_TARGET_SPEEDUP = 3
const REPOSITORY = 'bench/regcache'

// A builder stage with several seconds of real CPU work (generating numbers, compressing them
// three times, hashing the result), and a final stage that keeps only a small artifact.
const DOCKERFILE = `FROM busybox AS build
WORKDIR /work
COPY src/ ./src/
RUN seq 1 2500000 > numbers && for level in 6 7 8 9; do gzip -$level -c numbers > numbers.$level.gz; done
RUN i=0; while [ $i -lt 40 ]; do cat numbers.*.gz src/* | sha256sum >> sums; i=$((i+1)); done && ls -l numbers.*.gz > sizes
FROM busybox
COPY --from=build /work/sums /work/sizes /app/
CMD ["cat", "/app/sizes"]
`

export const registryCacheSection: Section = {
  name: 'regcache',
  summary: `bench 5a: a repository built on engine A, built on engine B with an empty cache, without and with the registry cache, against A warm (median of ${SAMPLES} each)`,
  async run ({ scope, progress }) {
    const [engineA, engineB, registry] = await Promise.all([startDockerd(scope), startDockerd(scope), startRegistry(scope)])
    const files: Record<string, string> = { Dockerfile: DOCKERFILE }
    for (let i = 0; i < 20; i++) files[`src/part-${i}.txt`] = randomBytes(20_000).toString('base64')
    const repo = await createRepo(scope, files)
    const image = `${registry.host}/${REPOSITORY}`
    const { api, config, workerPid } = await startSlipway(scope, { worker: true, config: { allowLocalRepos: true, builder: 'buildkit', dockerHost: engineA.host } })

    const build = async (label: string, options: { registryCache?: boolean } = {}): Promise<{ ms: number; build: Build }> => {
      const began = performance.now()
      const posted = await postBuild(api, { repo: repo.url, image, tags: [label], force: true, ...options })
      const ended = await untilEnded(api, posted.id)
      const ms = performance.now() - began
      if (ended.status !== 'succeeded') throw new Error(`regcache bench: build ${label} ended ${ended.status}: ${JSON.stringify(ended.error)}`)
      const cached = ended.steps.filter((step) => step.stage !== null && step.cached).length
      const imports = ended.registryCache?.imports.map((one) => `${one.outcome}${one.durationMs === undefined ? '' : ` ${one.durationMs} ms`}`).join(', ') || 'none'
      progress(`${label}: ${ms.toFixed(0)} ms (${ended.phases.map((phase) => `${phase.name} ${phase.durationMs ?? 0} ms`).join(', ')}); ${cached} steps cached; imports: ${imports}`)
      // Where the build phase went, step by step, for whoever wants to make it faster.
      progress(`  steps: ${ended.steps.map((step) => `${step.stage ?? '-'} ${step.instruction.slice(0, 28)} ${step.cached ? 'CACHED ' : ''}${step.durationMs ?? '?'} ms`).join('; ')}`)
      return { ms, build: ended }
    }

    progress('engine A: the first build, which pushes the image with its cache')
    const first = await build('a-first')
    const warmA: number[] = []
    for (let n = 1; n <= SAMPLES; n++) warmA.push((await build(`a-warm-${n}`)).ms)

    // A's worker leaves; B's takes the queue from here on.
    process.kill(workerPid!, 'SIGTERM')
    while (isAlive(workerPid!)) await new Promise((resolve) => setTimeout(resolve, 100))
    await startSlipwayProcess(scope, { ...config, dockerHost: engineB.host }, 'worker')

    const coldB: Build[] = []
    const coldMs: number[] = []
    const cachedB: Build[] = []
    const cachedMs: number[] = []
    // Taking turns, so neither kind gets a warmer (or a busier) machine.
    for (let n = 1; n <= SAMPLES; n++) {
      await forgetBuilds(engineB.docker)
      const cold = await build(`b-cold-${n}`, { registryCache: false })
      coldMs.push(cold.ms)
      coldB.push(cold.build)
      await forgetBuilds(engineB.docker)
      const withCache = await build(`b-registry-${n}`)
      cachedMs.push(withCache.ms)
      cachedB.push(withCache.build)
    }
    if (!cachedB.every((one) => one.registryCache?.imports.some((entry) => entry.outcome === 'imported'))) {
      throw new Error('regcache bench: a build on B with the registry cache imported nothing')
    }

    const median = (values: number[]) => percentile(values, 50)
    const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`
    const warm = median(warmA)
    const cold = median(coldMs)
    const withCache = median(cachedMs)
    const importMs = cachedB.flatMap((one) => one.registryCache?.imports.map((entry) => entry.durationMs ?? NaN) ?? [])
    const withInline = await configSize(registry.host, first.build.image!.digest!)
    const without = await configSize(registry.host, coldB[0]!.image!.digest!)
    return [
      {
        figure: `B empty cache + registry cache vs A warm (median of ${SAMPLES})`,
        slipway: `${seconds(withCache)} (${(withCache / warm).toFixed(2)}x)`,
        reference: `${seconds(warm)} (A warm)`,
        target: `<= ${WARM_TARGET_RATIO}x`,
        met: withCache / warm <= WARM_TARGET_RATIO
      },
      {
        figure: `B empty cache: with registry cache vs without (median of ${SAMPLES})`,
        slipway: `${seconds(withCache)} (${(cold / withCache).toFixed(1)}x faster)`,
        reference: `${seconds(cold)} (B cold)`,
        target: `>= ${COLD_TARGET_SPEEDUP}x faster`,
        met: cold / withCache >= COLD_TARGET_SPEEDUP
      },
      { figure: 'registry round trip: importing the cache metadata (median)', slipway: `${median(importMs).toFixed(0)} ms`, reference: '', target: '', met: null },
      { figure: 'image config blob, with inline cache metadata', slipway: `${withInline} B (+${withInline - without} B)`, reference: `${without} B (without)`, target: '', met: null }
    ]
  }
}

/** The size of the image config blob the registry holds for a manifest. */
async function configSize (host: string, digest: string): Promise<number> {
  const response = await fetch(`http://${host}/v2/${REPOSITORY}/manifests/${digest}`, { headers: { accept: 'application/vnd.docker.distribution.manifest.v2+json' } })
  const manifest = (await response.json()) as { config: { size: number } }
  return manifest.config.size
}
