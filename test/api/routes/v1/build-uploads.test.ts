import { createHash, randomBytes } from 'node:crypto'
import { Redis } from 'ioredis'
import { Queue } from 'bullmq'
import t, { type Test } from 'tap'
import type { Config } from '../../../../src/domain/config.js'
import type { Build } from '../../../../src/domain/schemas/build.js'
import { buildApp } from '../../../helpers/app.js'
import { testConfig } from '../../../helpers/config.js'
import { formBody, tarGz } from '../../../helpers/tarball.js'

// Uploads at the API alone, on real Redis and without a worker: a good tar is stored and queued as
// a build with its source; what is refused gets a 4xx with a stable code and leaves nothing behind.

async function setup (t: Test, overrides: Partial<Config> = {}) {
  const config = testConfig(t, overrides)
  const app = await buildApp(t, config)
  const redis = new Redis(config.redisUrl)
  t.teardown(() => redis.quit())
  const queue = new Queue('builds', { connection: { url: config.redisUrl }, prefix: config.prefix })
  t.teardown(() => queue.close())
  const upload = (body: Buffer, options?: object | string) =>
    app.inject({
      method: 'POST',
      url: options === undefined ? '/v1/builds' : `/v1/builds?options=${encodeURIComponent(typeof options === 'string' ? options : JSON.stringify(options))}`,
      headers: { 'content-type': 'application/gzip' },
      payload: body
    })
  const form = async (fields: Parameters<typeof formBody>[0]) => {
    const { body, contentType } = await formBody(fields)
    return app.inject({ method: 'POST', url: '/v1/builds', headers: { 'content-type': contentType }, payload: body })
  }
  /** Every upload key under the test's prefix: none may outlive a refusal. */
  const storedUploads = () => redis.keys(`${config.prefix}:build:*:source`)
  return { app, config, redis, queue, upload, form, storedUploads }
}

const dockerfileTar = () => tarGz([{ name: 'Dockerfile', content: 'FROM busybox\n' }])

t.test('an uploaded tar is stored in Redis and queued as a build whose source says what was uploaded', async (t) => {
  const { app, redis, queue, upload, config } = await setup(t)
  const bytes = await dockerfileTar()
  const response = await upload(bytes, { image: 'localhost:5000/team/app', tags: ['ci-1'], network: 'none' })
  t.equal(response.statusCode, 202, response.body)
  const build = response.json<Build>()
  t.equal(response.headers.location, `/v1/builds/${build.id}`)
  t.equal(build.request.repo, null, 'an upload has no repository')
  t.equal(build.request.ref, null)
  t.same(build.request.source, { type: 'upload', sizeBytes: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') })
  t.equal(build.request.push, true, 'defaults as for a JSON body')
  t.equal(build.request.context, '.')
  t.equal(build.request.network, 'none')
  t.same(await redis.getBuffer(`${config.prefix}:build:{${build.id}}:source`), bytes, 'the bytes wait in Redis under the build')
  t.ok((await redis.ttl(`${config.prefix}:build:{${build.id}}:source`)) > 86_400, 'with a time to live past any wait and run')
  t.same((await queue.getJob(build.id))?.data, { buildId: build.id })

  const defaults = (await upload(bytes)).json<Build>()
  t.equal(defaults.request.image, 'slipway.local/upload', 'without options: every default')
  t.equal(defaults.request.push, false)

  const canceled = await app.inject({ method: 'POST', url: `/v1/builds/${build.id}/cancel` })
  t.equal(canceled.json<Build>().status, 'canceled')
  t.equal(await redis.exists(`${config.prefix}:build:{${build.id}}:source`), 0, 'an ended build takes its upload with it')
  const retried = await app.inject({ method: 'POST', url: `/v1/builds/${build.id}/retry` })
  t.equal(retried.statusCode, 409)
  t.equal(retried.json().code, 'UPLOAD_NOT_KEPT')
})

t.test('multipart: a field options and a file source, in either order', async (t) => {
  const { form, storedUploads } = await setup(t)
  const file = { file: await dockerfileTar(), filename: 'context.tar.gz' }
  const first = await form({ options: JSON.stringify({ tags: ['a'] }), source: file })
  t.equal(first.statusCode, 202, first.body)
  t.same(first.json<Build>().request.tags, ['a'])
  const after = await form({ source: file, options: JSON.stringify({ tags: ['b'] }) })
  t.equal(after.statusCode, 202, after.body)
  t.same(after.json<Build>().request.tags, ['b'])
  const noFile = await form({ options: '{}' })
  t.equal(noFile.statusCode, 400)
  t.equal(noFile.json().code, 'BODY_INVALID')
  t.match(noFile.json().message, /no file 'source'/)
  const stranger = await form({ source: file, other: 'x' })
  t.equal(stranger.statusCode, 400)
  t.match(stranger.json().message, /The form's field 'other' is not expected/)
  const badOptions = await form({ source: file, options: '{"repo": "https://h/x"}' })
  t.equal(badOptions.json().code, 'VALIDATION_FAILED')
  t.equal((await storedUploads()).length, 2, 'refused forms leave no upload behind')
})

t.test('identical uploads with identical options join the queued build', async (t) => {
  const { upload, storedUploads } = await setup(t)
  const bytes = await dockerfileTar()
  const first = (await upload(bytes, { tags: ['x'] })).json<Build>()
  const again = await upload(bytes, { tags: ['x'] })
  t.equal(again.headers['slipway-joined'], 'true')
  t.equal(again.json<Build>().id, first.id)
  const other = await upload(bytes, { tags: ['y'] })
  t.not(other.json<Build>().id, first.id, 'other options: another build')
  t.equal((await storedUploads()).length, 2, "the joining upload's bytes are not kept")
})

t.test('refusals: a 4xx with a stable code, nothing queued, nothing stored', async (t) => {
  const { upload, form, queue, storedUploads } = await setup(t, { uploadMaxBytes: 4096 })
  const bulky = await tarGz([{ name: 'noise.bin', content: randomBytes(8192) }])
  const cases: [string, Promise<Awaited<ReturnType<typeof upload>>>, number, string, RegExp][] = [
    ['too large', upload(bulky), 413, 'UPLOAD_TOO_LARGE', /larger than 4.1 kB \(SLIPWAY_UPLOAD_MAX_BYTES\).*\.dockerignore/],
    ['too large, in a form', form({ source: { file: bulky, filename: 'c.tgz' } }), 413, 'UPLOAD_TOO_LARGE', /SLIPWAY_UPLOAD_MAX_BYTES/],
    ['not gzip', upload(Buffer.from('garbage, not a tarball')), 400, 'UPLOAD_INVALID', /not gzipped data/],
    ['empty', upload(Buffer.alloc(0)), 400, 'UPLOAD_INVALID', /not gzipped data/],
    ['hostile', upload(await tarGz([{ name: 'passwd', type: 'symlink', linkname: '/etc/passwd' }])), 400, 'UPLOAD_UNSAFE', /symlink to the absolute path/],
    ['climbing out', upload(await tarGz([{ name: '../../evil', content: 'x' }])), 400, 'UPLOAD_UNSAFE', /climbs out/],
    [
      'a symlink chain leading out',
      upload(await tarGz([{ name: 'a/x', type: 'symlink', linkname: 'y/../..' }, { name: 'a/y', type: 'symlink', linkname: '..' }, { name: 'Dockerfile', content: 'FROM busybox\n' }])),
      400,
      'UPLOAD_UNSAFE',
      /'a\/x' is a symlink leading out of the upload \(to 'y\/..\/..', through 'a\/y'\)/
    ],
    ['git-only option', upload(await dockerfileTar(), { repo: 'https://h/x' }), 400, 'VALIDATION_FAILED', /options\.repo: unknown field \(known fields: context, dockerfile/],
    ['wrong type', upload(await dockerfileTar(), { push: 'yes' }), 400, 'VALIDATION_FAILED', /options\.push: must be boolean/],
    ['host network', upload(await dockerfileTar(), { network: 'host' }), 400, 'VALIDATION_FAILED', /options\.network: must be equal to one of the allowed values/],
    ['bad path', upload(await dockerfileTar(), { context: '../up' }), 400, 'PATH_INVALID', /climbs out/],
    ['options not JSON', upload(await dockerfileTar(), '{image:'), 400, 'BODY_INVALID', /options are not valid JSON/]
  ]
  for (const [what, answer, status, code, message] of cases) {
    const response = await answer
    t.equal(response.statusCode, status, `${what}: ${response.body}`)
    t.equal(response.json().code, code, what)
    t.match(response.json().message, message, what)
  }
  t.equal(await queue.count(), 0, 'nothing queued')
  t.same(await storedUploads(), [], 'nothing stored')
})

t.test('a JSON body takes no options in the query', async (t) => {
  const { app } = await setup(t)
  const response = await app.inject({ method: 'POST', url: '/v1/builds?options=%7B%7D', payload: { repo: 'https://git.example.com/a/b.git' } })
  t.equal(response.statusCode, 400)
  t.equal(response.json().code, 'BODY_INVALID')
  t.match(response.json().message, /options goes with an uploaded tar/)
})
