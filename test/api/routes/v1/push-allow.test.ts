import { Redis } from 'ioredis'
import { Queue } from 'bullmq'
import t, { type Test } from 'tap'
import type { Config } from '../../../../src/domain/config.js'
import type { Build } from '../../../../src/domain/schemas/build.js'
import { buildApp } from '../../../helpers/app.js'
import { testConfig } from '../../../helpers/config.js'
import { formBody, tarGz } from '../../../helpers/tarball.js'

// Where a token may push, at the API alone on real Redis: a request that would push outside the
// repositories its token (or the operator's default) allows is 403 IMAGE_NOT_ALLOWED, and nothing
// of it is stored or queued.

const REPO = 'https://git.example.com/team-b/app.git'
const TEAM_A = 'localhost:5000/team-a/*'

async function setup (t: Test, overrides: Partial<Config> = {}) {
  const config = testConfig(t, { pushAllow: TEAM_A, ...overrides })
  const app = await buildApp(t, config)
  const queue = new Queue('builds', { connection: { url: config.redisUrl }, prefix: config.prefix })
  t.teardown(() => queue.close())
  const redis = new Redis(config.redisUrl)
  t.teardown(() => redis.quit())
  const tokenWith = async (body: object) => {
    const response = await app.inject({ method: 'POST', url: '/v1/tokens', payload: { name: 'a token', scopes: ['builds:read', 'builds:write'], ...body } })
    t.equal(response.statusCode, 201, response.body)
    return response.json<{ id: string; token: string; pushAllow: string[] | null }>()
  }
  const as = (token: string) => ({ authorization: `Bearer ${token}` })
  const post = (token: string | null, payload: object, headers: Record<string, string> = {}) =>
    app.inject({ method: 'POST', url: '/v1/builds', payload, headers: { ...(token ? as(token) : {}), ...headers } })
  /** What was stored or queued: build records, queued jobs and uploads. */
  const leftovers = async () => ({
    builds: (await redis.keys(`${config.prefix}:build:{*}`)).length,
    jobs: Object.values(await queue.getJobCounts('waiting', 'prioritized', 'active', 'delayed')).reduce((sum, count) => sum + count, 0),
    uploads: (await redis.keys(`${config.prefix}:build:*:source`)).length
  })
  const refused = (t: Test, response: Awaited<ReturnType<typeof post>>, image: string, patterns: RegExp, source: RegExp) => {
    t.equal(response.statusCode, 403, response.body)
    const body = response.json<{ code: string; message: string }>()
    t.equal(body.code, 'IMAGE_NOT_ALLOWED')
    t.match(body.message, image, 'names the image')
    t.match(body.message, patterns, 'names the patterns that apply')
    t.match(body.message, source, 'and where they come from')
  }
  return { config, app, queue, tokenWith, post, leftovers, refused, as }
}

t.test('a token follows SLIPWAY_PUSH_ALLOW: outside it, 403 and nothing stored or queued; inside, accepted', async (t) => {
  const { post, tokenWith, leftovers, refused } = await setup(t)
  const { token } = await tokenWith({})
  refused(t, await post(token, { repo: REPO, image: 'localhost:5000/team-b/app' }), 'localhost:5000/team-b/app', /localhost:5000\/team-a\/\*/, /SLIPWAY_PUSH_ALLOW/)
  refused(t, await post(token, { repo: REPO, image: 'localhost:5000/team-a/app/nested' }), 'team-a/app/nested', /team-a\/\*/, /SLIPWAY_PUSH_ALLOW/)
  refused(t, await post(token, { repo: REPO, image: 'localhost:5001/team-a/app' }), 'localhost:5001', /team-a/, /SLIPWAY_PUSH_ALLOW/)
  refused(t, await post(token, { repo: REPO, image: 'node', tags: ['20'] }), 'docker.io/library/node', /team-a/, /SLIPWAY_PUSH_ALLOW/)
  const variants = [{ name: 'slim' }, { name: 'full' }]
  refused(t, await post(token, { repo: REPO, image: 'localhost:5000/team-b/app', variants }), 'team-b/app', /team-a/, /SLIPWAY_PUSH_ALLOW/)
  t.same(await leftovers(), { builds: 0, jobs: 0, uploads: 0 }, 'nothing refused was stored or queued')

  t.equal((await post(token, { repo: REPO, image: 'localhost:5000/team-a/app', variants })).statusCode, 202, 'inside the patterns')
  t.equal((await post(token, { repo: REPO, image: 'localhost:5000/team-b/app', push: false })).statusCode, 202, 'a build that is not pushed needs no pattern')
})

t.test('with SLIPWAY_PUSH_ALLOW empty, the default, nothing may be pushed', async (t) => {
  const { post, tokenWith, leftovers, refused } = await setup(t, { pushAllow: '' })
  const { token } = await tokenWith({})
  refused(t, await post(token, { repo: REPO, image: 'localhost:5000/team-a/app' }), 'team-a/app', /none/, /SLIPWAY_PUSH_ALLOW/)
  t.same(await leftovers(), { builds: 0, jobs: 0, uploads: 0 })
})

t.test("a token's own patterns replace the default", async (t) => {
  const { post, tokenWith, refused } = await setup(t)
  const made = await tokenWith({ pushAllow: ['localhost:5000/team-b/**', 'docker.io/library/app-*'] })
  t.same(made.pushAllow, ['localhost:5000/team-b/**', 'docker.io/library/app-*'], 'shown on the token')
  t.equal((await post(made.token, { repo: REPO, image: 'localhost:5000/team-b/app' })).statusCode, 202)
  t.equal((await post(made.token, { repo: REPO, image: 'localhost:5000/team-b/deep/app' })).statusCode, 202, '** spans path components')
  t.equal((await post(made.token, { repo: REPO, image: 'app-web' })).statusCode, 202, 'Docker Hub names compare in canonical form')
  refused(t, await post(made.token, { repo: REPO, image: 'localhost:5000/team-a/app' }), 'team-a/app', /team-b\/\*\*.*app-\*/, /token/)
  const nowhere = await tokenWith({ pushAllow: [] })
  refused(t, await post(nowhere.token, { repo: REPO, image: 'localhost:5000/team-a/app' }), 'team-a/app', /none/, /token/)
})

t.test('admin tokens are limited too, unless SLIPWAY_ADMIN_PUSH_ANYWHERE', async (t) => {
  const limited = await setup(t)
  const admin = await limited.tokenWith({ scopes: ['admin'] })
  limited.refused(t, await limited.post(admin.token, { repo: REPO, image: 'localhost:5000/team-b/app' }), 'team-b/app', /team-a/, /SLIPWAY_PUSH_ALLOW/)
  // The inject helper authenticates as SLIPWAY_ADMIN_TOKEN.
  limited.refused(t, await limited.post(null, { repo: REPO, image: 'registry.example.com/prod/app', tags: ['latest'] }), 'registry.example.com/prod/app', /team-a/, /SLIPWAY_PUSH_ALLOW/)
  t.same(await limited.leftovers(), { builds: 0, jobs: 0, uploads: 0 })

  const anywhere = await setup(t, { adminPushAnywhere: true })
  const other = await anywhere.tokenWith({ scopes: ['admin'] })
  t.equal((await anywhere.post(other.token, { repo: REPO, image: 'registry.example.com/prod/app' })).statusCode, 202)
  t.equal((await anywhere.post(null, { repo: REPO, image: 'registry.example.com/prod/app', tags: ['x'] })).statusCode, 202)
  const builder = await anywhere.tokenWith({})
  anywhere.refused(t, await anywhere.post(builder.token, { repo: REPO, image: 'registry.example.com/prod/app' }), 'prod/app', /team-a/, /SLIPWAY_PUSH_ALLOW/)
})

t.test('uploads are checked before their tar is kept', async (t) => {
  const { app, tokenWith, leftovers, refused, as } = await setup(t)
  const { token } = await tokenWith({})
  const tar = await tarGz([{ name: 'Dockerfile', content: 'FROM busybox\n' }])
  const options = encodeURIComponent(JSON.stringify({ image: 'localhost:5000/team-b/app' }))
  const body = await app.inject({ method: 'POST', url: `/v1/builds?options=${options}`, headers: { ...as(token), 'content-type': 'application/gzip' }, payload: tar })
  refused(t, body, 'team-b/app', /team-a/, /SLIPWAY_PUSH_ALLOW/)
  for (const order of ['source first', 'options first']) {
    const fields = { options: JSON.stringify({ image: 'localhost:5000/team-b/app' }), source: { file: tar, filename: 'src.tgz' } }
    const { body: payload, contentType } = await formBody(order === 'source first' ? { source: fields.source, options: fields.options } : fields)
    const form = await app.inject({ method: 'POST', url: '/v1/builds', headers: { ...as(token), 'content-type': contentType }, payload })
    refused(t, form, 'team-b/app', /team-a/, /SLIPWAY_PUSH_ALLOW/)
  }
  t.same(await leftovers(), { builds: 0, jobs: 0, uploads: 0 })
})

t.test('a narrower token neither joins nor retries a build that pushes outside its patterns', async (t) => {
  const { post, tokenWith, leftovers, refused, app, as } = await setup(t)
  const wide = await tokenWith({ pushAllow: ['localhost:5000/**'] })
  const narrow = await tokenWith({})
  const request = { repo: REPO, ref: 'main', image: 'localhost:5000/team-b/app' }
  const queued = await post(wide.token, request)
  t.equal(queued.statusCode, 202)
  const before = await leftovers()

  refused(t, await post(narrow.token, request), 'team-b/app', /team-a/, /SLIPWAY_PUSH_ALLOW/)
  refused(t, await post(narrow.token, request, { 'idempotency-key': 'k-1' }), 'team-b/app', /team-a/, /SLIPWAY_PUSH_ALLOW/)
  const id = queued.json<Build>().id
  await app.inject({ method: 'POST', url: `/v1/builds/${id}/cancel` })
  const retried = await app.inject({ method: 'POST', url: `/v1/builds/${id}/retry`, headers: as(narrow.token) })
  refused(t, retried, 'team-b/app', /team-a/, /SLIPWAY_PUSH_ALLOW/)
  t.same(await leftovers(), { ...before, jobs: 0 }, 'no build joined, stored or queued for the narrower token')
  t.equal((await app.inject({ method: 'POST', url: `/v1/builds/${id}/retry`, headers: as(wide.token) })).statusCode, 202, 'the wider token may retry it')
})

t.test('push patterns are checked when a token is made', async (t) => {
  const { app } = await setup(t)
  const make = (pushAllow: unknown) => app.inject({ method: 'POST', url: '/v1/tokens', payload: { name: 'x', scopes: ['builds:write'], pushAllow } })
  for (const bad of ['team-a/*', 'localhost:5000', 'localhost:5000/Team/*', 'local*:5000/x', 'docker.io/node', 'localhost:5000/a**/b', 'localhost:5000//a', 'https://registry.example.com/x']) {
    const response = await make(['localhost:5000/ok/*', bad])
    t.equal(response.statusCode, 400, bad)
    t.equal(response.json().code, 'PUSH_PATTERN_INVALID', bad)
    t.match(response.json().message, bad, `${bad}: the message names it`)
  }
  t.equal((await make('localhost:5000/x')).json().code, 'VALIDATION_FAILED', 'a list, not a string')
  const listed = (await app.inject({ method: 'GET', url: '/v1/tokens' })).json<{ items: object[] }>().items
  t.same(listed, [], 'no token was made')
})
