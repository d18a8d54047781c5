import { execFileSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import t from 'tap'
import type { Build, BuildRequest, CacheMiss, Step } from '../../src/domain/schemas/build.js'
import { rm } from 'node:fs/promises'
import { buildApp } from '../helpers/app.js'
import { testConfig } from '../helpers/config.js'
import { docker } from '../helpers/docker.js'
import { startDockerd } from '../helpers/dockerd.js'
import { createRepo } from '../helpers/git-repo.js'
import { isAlive, startSlipwayProcess } from '../helpers/processes.js'
import { startRegistry } from '../helpers/registry.js'
import { startSlipway } from '../helpers/slipway.js'
import { tarGz } from '../helpers/tarball.js'

// A repository changed the ways people change them, built after each change: every step that ran
// must say why, and the reason must be what actually changed. Both builders.

const followed = (stream: NodeJS.ReadableStream) =>
  new Promise((resolve, reject) => docker.modem.followProgress(stream, (error: Error | null) => (error ? reject(error) : resolve(undefined))))

/**
 * Makes an image from busybox and tags it as the base image every Dockerfile here starts FROM,
 * then pushes it to the registry its name is in, as an image from a registry is: the engine then
 * knows its digest there. (busybox itself is never tagged or pushed: other tests read its digests.)
 * Returns its id and that digest.
 */
async function tagBase (base: string, variant: string): Promise<{ id: string; digest: string }> {
  const context = execFileSync('sh', ['-c', `d=$(mktemp -d) && printf 'FROM busybox\\nRUN echo ${variant} > /variant\\n' > $d/Dockerfile && tar -C $d -c .`])
  await followed(await docker.buildImage(context as unknown as NodeJS.ReadableStream, { t: `${base}:latest`, version: '1' } as object))
  // The engine wants credentials for a push, even none.
  await followed(await docker.getImage(base).push({ tag: 'latest', authconfig: {} }))
  const image = await docker.getImage(`${base}:latest`).inspect()
  const digest = image.RepoDigests.find((entry) => entry.startsWith(`${base}@`))
  if (!digest) throw new Error(`${base}: pushed, but the engine knows no digest for it (${image.RepoDigests.join(', ')})`)
  return { id: image.Id, digest: digest.slice(base.length + 1) }
}

const dockerfile = (base: string, nonce: string, extra = '') =>
  [
    `FROM ${base}`,
    'ARG GREETING=hello',
    `RUN echo "$GREETING ${nonce}" > /greeting`,
    'WORKDIR /app',
    'COPY deps.txt /app/deps.txt',
    'RUN cat /app/deps.txt > /app/installed',
    extra,
    'COPY src/ /app/src/',
    'RUN ls /app/src > /app/listing'
  ]
    .filter(Boolean)
    .join('\n') + '\n'

/** The Dockerfile steps (not FROM, not the builder's own), by their line's text. */
function stepsByText (build: Build): Map<string, Step> {
  return new Map(build.steps.filter((step) => step.line !== undefined && !/^FROM /i.test(step.instruction)).map((step) => [step.instruction, step]))
}

function missOf (build: Build, text: RegExp): CacheMiss | 'cached' | undefined {
  const step = [...stepsByText(build).values()].find((candidate) => text.test(candidate.instruction))
  return step && (step.cached ? 'cached' : step.cacheMiss)
}

for (const builder of ['buildkit', 'classic'] as const) {
  t.test(`${builder}: each rebuilt step says why, against the previous build of the branch`, async (t) => {
    const registry = await startRegistry(t)
    const base = `${registry.host}/cache-base-${randomBytes(4).toString('hex')}`
    // Its tag and the digests its pushes left go with the test.
    t.teardown(async () => {
      const references = (await docker.listImages({ digests: true })).flatMap((image) => [...(image.RepoTags ?? []), ...(image.RepoDigests ?? [])])
      for (const reference of references.filter((name) => name.startsWith(`${base}:`) || name.startsWith(`${base}@`))) {
        await docker.getImage(reference).remove().catch(() => undefined)
      }
    })
    const initial = await tagBase(base, 'initial')
    const slipway = await startSlipway(t)
    const nonce = randomBytes(6).toString('hex')
    const repo = await createRepo(t, {
      Dockerfile: dockerfile(base, nonce),
      '.dockerignore': '*.md\n',
      'README.md': 'read me\n',
      'deps.txt': 'left-pad\n',
      'src/app.py': 'print("one")\n',
      'src/util.py': 'pass\n'
    })
    const build = async (request: Partial<BuildRequest> = {}) => {
      const built = await slipway.build({ repo: repo.url, builder, push: false, force: true, ...request })
      t.equal(built.status, 'succeeded', built.error?.message ?? '')
      return built
    }

    const first = await build()
    t.equal(first.cache?.comparedWith, null, 'the first build has nothing to compare with')
    t.match(missOf(first, /^COPY src/), { reason: 'first-build' })
    t.ok(first.steps.some((step) => step.line === 3), 'steps carry their Dockerfile line')

    await repo.commit({ 'src/app.py': 'print("two")\n' })
    const edited = await build()
    t.equal(edited.cache?.comparedWith, first.id)
    t.equal(missOf(edited, /^RUN cat/), 'cached', 'steps before the changed files came from the cache')
    t.match(missOf(edited, /^COPY src/), { reason: 'files-changed', detail: { files: ['src/app.py'], fileCount: 1 } })
    t.match(missOf(edited, /^RUN ls/), { reason: 'earlier-step-rebuilt' })
    t.match(edited.cache, { steps: Number, firstMiss: { reason: 'files-changed', summary: 'src/app.py changed', followers: 1 } })

    await repo.commit({ 'README.md': 'read me again\n' })
    const ignored = await build()
    t.equal(ignored.cache?.firstMiss, null, 'a file .dockerignore leaves out rebuilds nothing, and there is nothing to explain')
    t.equal(ignored.cache?.hitRate, 1)

    const argued = await build({ buildArgs: { GREETING: 'hi' } })
    t.same(missOf(argued, /^RUN echo/), {
      reason: 'build-arg-changed',
      detail: { arg: 'GREETING', before: 'hello', after: 'hi', summary: `ARG GREETING: hello → hi; line 3 now reads RUN echo "hi ${nonce}" > /greeting` }
    })

    const retagged = await tagBase(base, nonce)
    const rebased = await build({ buildArgs: { GREETING: 'hi' } })
    // The first step after FROM: the RUN with BuildKit, the ARG with the classic builder (where it is a step).
    const firstMiss = rebased.cache?.firstMiss
    t.match(firstMiss, { reason: 'base-image-changed', line: builder === 'buildkit' ? 3 : 2 }, 'the base image retagged to another image')
    t.same(rebased.steps[firstMiss?.step ?? -1]?.cacheMiss?.detail, {
      summary: `${base} is another image: digest ${initial.digest.slice(7, 19)} → ${retagged.digest.slice(7, 19)}`,
      before: initial.id,
      after: retagged.id,
      beforeDigest: initial.digest,
      afterDigest: retagged.digest
    }, "the old and new images' ids and registry digests")
    t.match(missOf(rebased, /^RUN cat/), { reason: 'earlier-step-rebuilt' })

    await repo.commit({ Dockerfile: dockerfile(base, nonce, 'RUN echo inserted > /inserted') })
    const above = await build({ buildArgs: { GREETING: 'hi' } })
    t.equal(missOf(above, /^RUN cat/), 'cached')
    t.match(missOf(above, /^RUN echo inserted/), { reason: 'instruction-changed', detail: { before: null, after: 'RUN echo inserted > /inserted' } })
    t.match(missOf(above, /^COPY src/), { reason: 'earlier-step-rebuilt' })

    await repo.commit({ Dockerfile: dockerfile(base, nonce, 'RUN echo inserted > /inserted').replace('ls /app/src', 'ls -l /app/src') })
    const below = await build({ buildArgs: { GREETING: 'hi' } })
    t.equal(missOf(below, /^COPY src/), 'cached', 'an edit below a step leaves it cached')
    t.match(missOf(below, /^RUN ls/), { reason: 'instruction-changed', detail: { before: 'RUN ls /app/src > /app/listing', after: 'RUN ls -l /app/src > /app/listing' } })

    const uncached = await build({ buildArgs: { GREETING: 'hi' }, noCache: true })
    for (const step of stepsByText(uncached).values()) t.match(step.cacheMiss, { reason: 'no-cache' }, `${step.instruction}: no-cache`)
  })
}

for (const builder of ['buildkit', 'classic'] as const) {
  t.test(`${builder}: an upload compares file contents with the previous upload of the same image`, async (t) => {
    const slipway = await startSlipway(t)
    const nonce = randomBytes(6).toString('hex')
    const files = { Dockerfile: `FROM busybox\nRUN echo ${nonce} > /n\nCOPY . /app\n`, 'a.txt': 'a\n', 'b.txt': 'b\n' }
    const upload = async (content: Record<string, string>) => {
      const body = await tarGz(Object.entries(content).map(([name, text]) => ({ name, content: text })))
      const options = { image: `team/cache-${nonce}`, push: false, force: true, builder }
      const response = await slipway.upload(body, options)
      t.equal(response.statusCode, 202, response.body)
      const built = await slipway.wait(response.build.id)
      t.equal(built.status, 'succeeded', built.error?.message ?? '')
      return built
    }
    const first = await upload(files)
    const changed = await upload({ ...files, 'b.txt': 'b, changed\n' })
    t.equal(changed.cache?.comparedWith, first.id)
    t.match(missOf(changed, /^COPY \./), { reason: 'files-changed', detail: { files: ['b.txt'] } })
    t.equal(missOf(changed, /^RUN echo/), 'cached')
  })

  t.test(`${builder}: a build moved to another engine, or whose cache was pruned, says the engine had no cache for it`, async (t) => {
    const engineB = await startDockerd(t)
    const config = testConfig(t)
    t.teardown(() => rm(config.workDir, { recursive: true, force: true }))
    const app = await buildApp(t, config)
    const nonce = randomBytes(6).toString('hex')
    const repo = await createRepo(t, { Dockerfile: `FROM busybox\nRUN echo ${nonce} > /n\nCOPY a.txt /a.txt\n`, 'a.txt': 'a\n' })
    const build = async () => {
      const response = await app.inject({ method: 'POST', url: '/v1/builds', payload: { repo: repo.url, push: false, force: true, builder } })
      t.equal(response.statusCode, 202, response.body)
      for (;;) {
        const built = (await app.inject({ method: 'GET', url: `/v1/builds/${response.json<Build>().id}` })).json<Build>()
        if (!['queued', 'running'].includes(built.status)) {
          t.equal(built.status, 'succeeded', built.error?.message ?? '')
          return built
        }
        await new Promise((resolve) => setTimeout(resolve, 100))
      }
    }

    const workerA = await startSlipwayProcess(t, config, 'worker')
    const onA = await build()
    workerA.kill('SIGTERM')
    while (isAlive(workerA.pid)) await new Promise((resolve) => setTimeout(resolve, 100))

    await startSlipwayProcess(t, { ...config, dockerHost: engineB.host }, 'worker')
    const onB = await build()
    t.equal(onB.cache?.comparedWith, onA.id)
    t.not(onB.ranOn?.engine?.id, onA.ranOn?.engine?.id, 'the second build ran on the other engine (its own id)')
    t.match(missOf(onB, /^RUN echo/), {
      reason: 'cache-not-on-engine',
      detail: { engine: onA.ranOn?.engine?.name, summary: /previous build ran on engine/ }
    })
    t.match(missOf(onB, /^COPY a.txt/), { reason: 'earlier-step-rebuilt' })

    // What a worker's pruning does on a full host: the local image goes (with the classic builder's
    // cache, its untagged parents), then the build cache.
    for (const tag of onB.image?.tags ?? []) await engineB.docker.getImage(tag).remove()
    await engineB.docker.pruneBuilder({ all: true } as object)
    const pruned = await build()
    t.match(missOf(pruned, /^RUN echo/), { reason: 'cache-not-on-engine', detail: { summary: /no longer held it \(pruned\)/ } })
  })
}
