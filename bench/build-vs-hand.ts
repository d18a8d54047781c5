// A whole build through Slipway beside the same build typed by hand:
//   git clone --depth 1 URL dir && tar -C dir -c . | curl --unix-socket /var/run/docker.sock
//     --data-binary @- 'http://docker/build?version=2&t=REGISTRY/bench/hand:TAG' && docker push ...
// on a multi-stage repository, pushed to a local registry, once with no layer cache and once with
// a warm one. Both use BuildKit through the Engine API: by hand the context goes as a tar (the
// docker CLI here has no buildx, so DOCKER_BUILDKIT=1 refuses to build), Slipway's worker sends
// it through a session. Slipway's figure runs from its POST to the moment its log stream says the build
// ended (so it includes the API, the queue, the clone, the measurements and the push); the hand's
// from the first command to the last one's exit. Slipway's build makes what the hand's makes, an
// image pushed: no SBOM, provenance or signature (their cost is the sbom section's). They take
// turns, each going first in every other round, so neither gets a warmer (or a busier) machine.
import { execFile } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { rm } from 'node:fs/promises'
import path from 'node:path'
import { performance } from 'node:perf_hooks'
import { promisify } from 'node:util'
import { removeImage } from '../test/helpers/docker.js'
import { tempFolder } from '../test/helpers/files.js'
import { createRepo } from '../test/helpers/git-repo.js'
import { startRegistry } from '../test/helpers/registry.js'
import { percentile, type Row, type Section } from './report.js'
import { postBuild, startSlipway, untilEnded } from './slipway.js'

const COLD_SAMPLES = 5
const WARM_SAMPLES = 5
const COLD_TARGET_RATIO = 1.02
const WARM_TARGET_EXTRA_MS = 100

// A builder stage that works for a few seconds (hashing the sources) and makes a 30 MB artifact,
// and a final stage that keeps only the artifact: the benchmark app (bench/supply-chain.ts too).
export const DOCKERFILE = `FROM busybox AS build
WORKDIR /src
COPY src/ ./
RUN i=0; while [ $i -lt 60 ]; do cat /src/*.txt | sha256sum >> /sums; i=$((i+1)); done && head -c 30000000 /dev/urandom > /app.bin
FROM busybox
COPY --from=build /app.bin /sums /app/
CMD ["ls", "-l", "/app"]
`

const exec = promisify(execFile)

export const buildVsHandSection: Section = {
  name: 'build',
  summary: `a multi-stage build end to end with BuildKit, Slipway vs git + docker CLI by hand, push included (no cache: median of ${COLD_SAMPLES}; warm cache: median of ${WARM_SAMPLES})`,
  async run ({ scope, progress }) {
    const repo = await createRepo(scope, benchmarkApp())
    const registry = await startRegistry(scope)
    const { api } = await startSlipway(scope, { worker: true, config: { allowLocalRepos: true, builder: 'buildkit' } })
    const scratch = await tempFolder(scope, {}, 'slipway-bench-build-')
    // Each no-cache build leaves a 30 MB image of its own. Slipway's are removed with its test
    // configuration (test/helpers/config.ts); the hand's here, when the section ends.
    const handImages = new Set<string>()
    scope.teardown(async () => {
      for (const image of handImages) await removeImage(image)
    })

    const throughSlipway = async (tag: string, options: { noCache: boolean }): Promise<number> => {
      const began = performance.now()
      const posted = await postBuild(api, { repo: repo.url, image: `${registry.host}/bench/slipway`, tags: [tag], noCache: options.noCache, force: true, sbom: false, provenance: false, sign: false })
      const build = await untilEnded(api, posted.id)
      const elapsed = performance.now() - began
      if (build.status !== 'succeeded') throw new Error(`build bench: Slipway's build ended ${build.status}: ${JSON.stringify(build.error)}`)
      // Where Slipway's time went, for whoever wants to make it faster.
      progress(`Slipway ${elapsed.toFixed(0)} ms: ${build.phases.map((phase) => `${phase.name} ${phase.durationMs ?? 0} ms`).join(', ')}`)
      return elapsed
    }
    const byHand = async (tag: string, options: { noCache: boolean }): Promise<number> => {
      const dir = path.join(scratch, `hand-${tag}`)
      const image = `${registry.host}/bench/hand:${tag}`
      handImages.add(image)
      const began = performance.now()
      await exec('git', ['clone', '--quiet', '--depth=1', '--no-tags', repo.url, dir])
      const cloned = performance.now()
      await buildkitByHand(dir, image, options.noCache)
      const built = performance.now()
      await exec('docker', ['push', '--quiet', image])
      const elapsed = performance.now() - began
      progress(`by hand ${elapsed.toFixed(0)} ms: clone ${(cloned - began).toFixed(0)} ms, build ${(built - cloned).toFixed(0)} ms, push ${(began + elapsed - built).toFixed(0)} ms`)
      await rm(dir, { recursive: true, force: true })
      return elapsed
    }

    const cold = { slipway: [] as number[], hand: [] as number[] }
    for (let n = 1; n <= COLD_SAMPLES; n++) {
      progress(`no cache, round ${n} of ${COLD_SAMPLES}`)
      await inTurn(n, {
        hand: async () => cold.hand.push(await byHand(`cold-${n}`, { noCache: true })),
        slipway: async () => cold.slipway.push(await throughSlipway(`cold-${n}`, { noCache: true }))
      })
    }
    progress('warm cache: one build each to fill it')
    await byHand('warm', { noCache: false })
    await throughSlipway('warm', { noCache: false })
    const warm = { slipway: [] as number[], hand: [] as number[] }
    for (let n = 1; n <= WARM_SAMPLES; n++) {
      progress(`warm cache, round ${n} of ${WARM_SAMPLES}`)
      await inTurn(n, {
        hand: async () => warm.hand.push(await byHand('warm', { noCache: false })),
        slipway: async () => warm.slipway.push(await throughSlipway('warm', { noCache: false }))
      })
    }

    const median = (values: number[]) => percentile(values, 50)
    const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`
    const rows: Row[] = []
    const coldRatio = median(cold.slipway) / median(cold.hand)
    rows.push({
      figure: `multi-stage build and push, no cache (median of ${COLD_SAMPLES})`,
      slipway: `${seconds(median(cold.slipway))} (${coldRatio.toFixed(3)}x)`,
      reference: `${seconds(median(cold.hand))} (by hand)`,
      target: `<= ${COLD_TARGET_RATIO}x`,
      met: coldRatio <= COLD_TARGET_RATIO
    })
    const extra = median(warm.slipway) - median(warm.hand)
    rows.push({
      figure: `multi-stage build and push, warm cache (median of ${WARM_SAMPLES})`,
      slipway: `${seconds(median(warm.slipway))} (${extra >= 0 ? '+' : ''}${extra.toFixed(0)} ms)`,
      reference: `${seconds(median(warm.hand))} (by hand)`,
      target: `<= hand + ${WARM_TARGET_EXTRA_MS} ms`,
      met: extra <= WARM_TARGET_EXTRA_MS
    })
    return rows
  }
}

/**
 * A BuildKit build through the Engine API as a person types it here: the folder as a tar, POSTed
 * to /build with version=2 (the docker CLI here has no buildx, so DOCKER_BUILDKIT=1 refuses).
 * The engine's answer is a stream of JSON messages; one with an error fails the build.
 */
async function buildkitByHand (dir: string, image: string, noCache: boolean): Promise<void> {
  const url = `http://docker/build?version=2&t=${encodeURIComponent(image)}${noCache ? '&nocache=1' : ''}`
  const { stdout } = await exec('sh', ['-c', 'tar -C "$1" -c . | curl -sS --fail --unix-socket /var/run/docker.sock -X POST -H "content-type: application/x-tar" --data-binary @- "$2"', 'sh', dir, url], { maxBuffer: 64 * 1024 * 1024 })
  const failure = stdout.split('\n').find((line) => line.includes('"errorDetail"'))
  if (failure) throw new Error(`build bench: the hand's build failed: ${failure}`)
}

/** The benchmark app's files: its Dockerfile and 100 sources of 27 KB. */
export function benchmarkApp (): Record<string, string> {
  const files: Record<string, string> = { Dockerfile: DOCKERFILE }
  for (let i = 0; i < 100; i++) files[`src/part-${i}.txt`] = randomBytes(20_000).toString('base64')
  return files
}

/** Runs both of a round's builds, one after the other: the hand first in odd rounds, Slipway in even ones. */
async function inTurn (round: number, builds: { hand: () => Promise<unknown>; slipway: () => Promise<unknown> }): Promise<void> {
  const order = round % 2 === 1 ? [builds.hand, builds.slipway] : [builds.slipway, builds.hand]
  for (const build of order) await build()
}
