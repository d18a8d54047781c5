// What explaining a build's cache misses adds to it, for a repository of 10,000 files: the worker's
// own code on real parts (the commit read from git as a build reads it, Redis holding the
// previous build's facts, the engine asked for the base image). The worker starts reading the
// previous build's facts and this context's file ids as the build starts, and the build waits only
// for the rest once the builder has reported its steps: that wait is the figure held to the target,
// timed after a pause standing in for the engine's build (sending a 10,000-file context alone
// takes longer). The whole of it, as if the build took no time, is shown beside it. One file changed
// between the two commits, so the answer lists it.
import { performance } from 'node:perf_hooks'
import path from 'node:path'
import Docker from 'dockerode'
import { Redis } from 'ioredis'
import { planContext } from '../src/build-context/context.js'
import { parseDockerfile } from '../src/domain/insight/dockerfile-stages.js'
import { dockerfileFacts } from '../src/domain/insight/step-facts.js'
import { newBuildRecord } from '../src/domain/builds/build-request.js'
import { createCacheFacts } from '../src/storage/cache-facts.js'
import { redisKeys } from '../src/storage/keys.js'
import { buildkitSteps } from '../test/helpers/builder-steps.js'
import { createRepo } from '../test/helpers/git-repo.js'
import { defaultRequest } from '../test/helpers/fixtures.js'
import { startCacheExplanation } from '../workers/insight/cache-misses.js'
import { baseImagesOf } from '../workers/docker/base-images.js'
import { gitTree } from '../workers/source/git-tree.js'
import { milliseconds, percentile, type Section } from './report.js'

const FILES = 10_000
const SAMPLES = 7
const TARGET_MS = 50
// Shorter than any build of a 10,000-file context: the engine reads the whole context first.
const BUILD_STAND_IN_MS = 500
const DOCKERFILE = [
  'FROM busybox AS build',
  'WORKDIR /src',
  'COPY package.json package-lock.json ./',
  'RUN echo install',
  'COPY src/ ./src/',
  'RUN echo build',
  'FROM busybox',
  'COPY --from=build /src /app',
  'COPY static/ /app/static/',
  'CMD ["/app/run"]'
].join('\n')

export const cacheExplanationSection: Section = {
  name: 'explain',
  summary: `the time explaining cache misses adds to a build of a ${FILES.toLocaleString('en')}-file repository (median of ${SAMPLES})`,
  async run ({ scope, progress }) {
    progress(`making a repository of ${FILES} files`)
    const files: Record<string, string> = { Dockerfile: DOCKERFILE, 'package.json': '{}\n', 'package-lock.json': '{}\n' }
    for (let i = 0; i < FILES - 3; i++) files[`${i % 2 === 0 ? 'src' : 'static'}/dir-${i % 50}/file-${i}.txt`] = `content ${i}\n`
    const repo = await createRepo(scope, files)
    const before = await repo.git('rev-parse', 'HEAD')
    const after = await repo.commit({ 'src/dir-0/file-0.txt': 'changed\n' })

    const redis = new Redis(process.env.SLIPWAY_REDIS_URL ?? 'redis://127.0.0.1:6379')
    scope.teardown(() => redis.quit())
    const prefix = `slipway-bench-explain-${process.pid}`
    scope.teardown(async () => {
      const keys = await redis.keys(`${prefix}:*`)
      if (keys.length > 0) await redis.del(...keys)
    })
    const kept = createCacheFacts(redis, redisKeys(prefix))
    const docker = new Docker()
    // Two builds of the branch: the one before the change, and the one explained.
    const builds = new Map([before, after].map((commit, i) => [commit, newBuildRecord(`01BENCHEXPLAIN00000000000${i}`, defaultRequest(repo.url), new Date())]))
    const facts = dockerfileFacts(parseDockerfile(DOCKERFILE))

    // The commit as a build reads it: its tree from git, its context planned; then the explanation.
    const explainAt = async (commit: string, keep: boolean) => {
      const signal = new AbortController().signal
      const tree = await gitTree(path.join(repo.dir, '.git'), commit, signal)
      try {
        const plan = await planContext({ tree, context: '.', dockerfile: 'Dockerfile', keepGitDir: false, signal })
        const ran = commit === after ? ['COPY src/ ./src/', 'RUN echo build', 'COPY --from=build /src /app'] : []
        const steps = buildkitSteps(facts, (fact) => ran.includes(fact.text))
        const input = { build: builds.get(commit)!, resolvedRef: 'refs/heads/main', dockerfile: 'Dockerfile', target: null, facts, plan, tree, engine: { id: 'bench', name: 'bench' }, docker, kept, signal }
        const whole = performance.now()
        await startCacheExplanation(input).finish(steps, { keep: false, registryImports: [], bases: await baseImagesOf(docker, facts) })
        const wholeMs = performance.now() - whole
        const explanation = startCacheExplanation(input)
        await new Promise((resolve) => setTimeout(resolve, BUILD_STAND_IN_MS))
        const began = performance.now()
        // The engine is asked for the base images after the build, as the worker does, for this and the provenance.
        const explained = await explanation.finish(steps, { keep, registryImports: [], bases: await baseImagesOf(docker, facts) })
        return { ms: performance.now() - began, wholeMs, explained }
      } finally {
        await tree.close()
      }
    }

    const samples: number[] = []
    const wholes: number[] = []
    let firstMiss = ''
    for (let n = 1; n <= SAMPLES; n++) {
      progress(`sample ${n} of ${SAMPLES}`)
      await explainAt(before, true)
      const { ms, wholeMs, explained } = await explainAt(after, true)
      samples.push(ms)
      wholes.push(wholeMs)
      firstMiss = explained.cache.firstMiss?.summary ?? '(none)'
    }
    if (firstMiss !== 'src/dir-0/file-0.txt changed') throw new Error(`the explanation named ${firstMiss}, not the changed file`)
    const keptBytes = (await redis.getBuffer(redisKeys(prefix).cacheFacts(await lineageKey(redis, prefix))))?.length ?? 0
    const median = percentile(samples, 50)
    return [
      {
        figure: `explaining cache misses: what a build of a ${FILES.toLocaleString('en')}-file repository waits for after its steps (median of ${SAMPLES})`,
        slipway: milliseconds(median),
        reference: '',
        target: `< ${TARGET_MS} ms`,
        met: median < TARGET_MS
      },
      { figure: '  slowest sample', slipway: milliseconds(Math.max(...samples)), reference: '', target: '', met: null },
      { figure: '  all of it, started after the build (not how the worker runs it)', slipway: milliseconds(percentile(wholes, 50)), reference: '', target: '', met: null },
      { figure: "  the lineage's facts in Redis (gzipped)", slipway: `${(keptBytes / 1024).toFixed(0)} KiB`, reference: '', target: '', met: null }
    ]
  }
}

/** The one cache-facts key the bench wrote. */
async function lineageKey (redis: Redis, prefix: string): Promise<string> {
  const [key] = await redis.keys(`${prefix}:cachefacts:*`)
  return key?.slice(`${prefix}:cachefacts:`.length) ?? ''
}
