import { readdir } from 'node:fs/promises'
import t from 'tap'
import { docker, pull, registryDigest, removeImage } from '../helpers/docker.js'
import { createRepo } from '../helpers/git-repo.js'
import { startRegistry } from '../helpers/registry.js'
import { startSlipway } from '../helpers/slipway.js'

// The step lines each builder prints for `RUN echo built`.
const STEP_LINE = { classic: /Step 2\/\d+ : RUN echo built/, buildkit: /#\d+ \[2\/\d+\] RUN echo built/ }

for (const builder of ['buildkit', 'classic'] as const) {
  t.test(`${builder}: a build is pushed, and pulls back from the registry with the digest Slipway reported`, async (t) => {
    const slipway = await startSlipway(t)
    const registry = await startRegistry(t)
    const repo = await createRepo(t, {
      Dockerfile: 'FROM busybox\nRUN echo built > /built.txt\nCOPY hello.txt /hello.txt\nCMD ["cat", "/hello.txt"]\n',
      'hello.txt': 'hello\n'
    })
    const head = await repo.git('rev-parse', 'HEAD')
    const image = `${registry.host}/team/app`

    const build = await slipway.build({ repo: repo.url, image, builder })

    t.equal(build.status, 'succeeded', JSON.stringify(build.error))
    t.equal(build.builder, builder)
    t.equal(build.commit, head, 'records the commit the default branch resolved to')
    t.equal(build.resolvedRef, 'refs/heads/main')
    t.same(build.request.tags, null, 'the stored request keeps the default')
    t.same(build.image?.tags, [`${image}:${head.slice(0, 12)}`], 'tags default to the first 12 hex digits of the commit')
    t.same(
      build.phases.map((phase) => [phase.name, phase.status]),
      [['clone', 'succeeded'], ['context', 'succeeded'], ['build', 'succeeded'], ['inspect', 'succeeded'], ['push', 'succeeded'], ['attest', 'succeeded']]
    )
    t.ok(build.phases.every((phase) => typeof phase.durationMs === 'number' && phase.durationMs >= 0), 'every phase is timed')

    const digest = build.image?.digest
    t.match(digest, /^sha256:[0-9a-f]{64}$/)
    t.equal(await registryDigest(registry.host, 'team/app', head.slice(0, 12)), digest, 'the registry serves that digest')

    await removeImage(`${image}:${head.slice(0, 12)}`)
    await pull(`${image}:${head.slice(0, 12)}`)
    const pulled = await docker.getImage(`${image}:${head.slice(0, 12)}`).inspect()
    t.ok(pulled.RepoDigests.includes(`${image}@${digest}`), 'the pulled image carries the same digest')
    t.equal(pulled.Size, build.image?.sizeBytes, 'the size Slipway reported is the size docker reports')
    t.equal(pulled.Config.Labels?.['org.opencontainers.image.revision'], head)
    t.equal(pulled.Config.Labels?.['org.opencontainers.image.source'], repo.url)

    const layers = build.image?.layers ?? []
    t.ok(layers.some((layer) => layer.instruction === 'RUN echo built > /built.txt'), 'layers name the instruction that made them')
    t.equal(layers.reduce((sum, layer) => sum + layer.sizeBytes, 0), build.image?.sizeBytes, 'layer sizes add up to the image size')

    const log = await slipway.logs(build.id)
    t.match(log, /Reading [0-9a-f]{40} \(refs\/heads\/main\) from the mirror/, 'the log holds git')
    t.match(log, STEP_LINE[builder], 'the log holds each build step')
    t.match(log, /digest: sha256:/, 'the log holds the push')
    const left = await readdir(slipway.config.workDir, { recursive: true })
    t.notOk(left.some((entry) => entry.includes(build.id)), 'the clone is removed afterwards')
  })
}

t.test('without an image, the build is tagged locally as slipway.local/<repo name> and not pushed', async (t) => {
  const slipway = await startSlipway(t)
  const repo = await createRepo(t, { Dockerfile: 'FROM busybox\nRUN true\n' })
  const build = await slipway.build({ repo: repo.url, tags: ['local-only'] })
  t.equal(build.status, 'succeeded', JSON.stringify(build.error))
  const name = repo.dir.split('/').pop()!.toLowerCase()
  t.equal(build.request.image, `slipway.local/${name}`)
  t.equal(build.request.push, false)
  t.same(build.image?.tags, [`slipway.local/${name}:local-only`])
  t.equal(build.image?.digest, null)
  t.same(build.phases.find((phase) => phase.name === 'push')?.status, 'skipped')
  const local = await docker.getImage(`slipway.local/${name}:local-only`).inspect()
  t.equal(local.Id, build.image?.id)
})
