import { createHash } from 'node:crypto'
import { Redis } from 'ioredis'
import t, { type Test } from 'tap'
import type { Build } from '../../src/domain/schemas/build.js'
import { docker, pull, registryDigest, removeImage } from '../helpers/docker.js'
import { startRegistry } from '../helpers/registry.js'
import { startSlipway, type TestSlipway } from '../helpers/slipway.js'
import { formBody, packDir, tarGz } from '../helpers/tarball.js'

// A runner that holds the checkout sends it as a gzipped tar: the same pipeline (unpack instead of
// clone), the same results, the same registry.

/** A folder as a checkout would be: a Dockerfile, files, a .dockerignore, a symlink. */
function checkout (t: Test): string {
  return t.testdir({
    Dockerfile: 'FROM busybox\nCOPY . /src\nRUN test -f /src/app/hello.txt && test ! -e /src/secret.env && test -L /src/app/link\nCMD ["cat", "/src/app/hello.txt"]\n',
    app: { 'hello.txt': 'hello from an upload\n', link: t.fixture('symlink', 'hello.txt') },
    'secret.env': 'TOKEN=not-for-the-image\n',
    '.dockerignore': 'secret.env\n'
  })
}

async function upload (t: Test, slipway: TestSlipway, body: Buffer, options: object): Promise<Build> {
  const response = await slipway.upload(body, options)
  t.equal(response.statusCode, 202, response.body)
  return slipway.wait(response.build.id)
}

t.test('a packed folder builds and pushes like a repository, with the same results', async (t) => {
  const slipway = await startSlipway(t)
  const registry = await startRegistry(t)
  const redis = new Redis(slipway.config.redisUrl)
  t.teardown(() => redis.quit())
  const bytes = await packDir(checkout(t))
  const sha256 = createHash('sha256').update(bytes).digest('hex')
  const image = `${registry.host}/team/uploaded`

  const build = await upload(t, slipway, bytes, { image })

  t.equal(build.status, 'succeeded', JSON.stringify(build.error))
  t.same(build.request.source, { type: 'upload', sizeBytes: bytes.length, sha256 })
  t.equal(build.request.repo, null)
  t.equal(build.commit, null, 'an upload has no commit')
  t.same(
    build.phases.map((phase) => [phase.name, phase.status]),
    [['unpack', 'succeeded'], ['context', 'succeeded'], ['build', 'succeeded'], ['inspect', 'succeeded'], ['push', 'succeeded'], ['attest', 'succeeded']],
    'unpack takes the place of clone'
  )
  t.same(build.image?.tags, [`${image}:${sha256.slice(0, 12)}`], "tags default to the upload's sha256, as a commit's do")
  t.match(build.image?.digest, /^sha256:[0-9a-f]{64}$/)
  t.equal(await registryDigest(registry.host, 'team/uploaded', sha256.slice(0, 12)), build.image?.digest, 'the registry serves that digest')
  t.ok(build.image?.layers.some((layer) => layer.instruction.startsWith('COPY')), 'layers are measured')
  t.ok(build.steps.length > 0, 'steps are recorded')
  // The engine keeps no pushed image (docs/operations/disk.md): its labels are read from a pull.
  const pushed = `${image}@${build.image!.digest!}`
  t.teardown(() => removeImage(pushed))
  await pull(pushed)
  const labels = (await docker.getImage(pushed).inspect()).Config.Labels ?? {}
  t.notOk('org.opencontainers.image.revision' in labels, 'no commit to label the image with')

  const log = await slipway.logs(build.id)
  t.match(log, new RegExp(`Unpacked the upload \\(sha256 ${sha256.slice(0, 12)}\\): \\d+ entries`))
  t.match(log, /digest: sha256:/)
  t.equal(await redis.exists(`${slipway.config.prefix}:build:{${build.id}}:source`), 0, 'the upload leaves Redis when its build ends')

  // The same bytes and options again, as a form this time: the image is still there, so reused.
  const { body, contentType } = await formBody({ options: JSON.stringify({ image }), source: { file: bytes, filename: 'src.tar.gz' } })
  const again = await slipway.app.inject({ method: 'POST', url: '/v1/builds', headers: { 'content-type': contentType }, payload: body })
  t.equal(again.statusCode, 202, again.body)
  const reused = await slipway.wait(again.json<Build>().id)
  t.equal(reused.status, 'succeeded')
  t.equal(reused.reusedFrom, build.id, 'identical bytes and options reuse the earlier build')
  t.equal(reused.image?.digest, build.image?.digest)
  t.equal(reused.phases.find((phase) => phase.name === 'unpack')?.status, 'skipped')
})

t.test('an upload whose Dockerfile is missing fails as a repository build would', async (t) => {
  const slipway = await startSlipway(t)
  const build = await upload(t, slipway, await tarGz([{ name: 'README', content: 'no Dockerfile here\n' }]), {})
  t.equal(build.status, 'failed')
  t.equal(build.error?.code, 'DOCKERFILE_NOT_FOUND')
  t.equal(build.error?.phase, 'context')
})
