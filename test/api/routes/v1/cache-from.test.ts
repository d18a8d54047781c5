import { Redis } from 'ioredis'
import t from 'tap'
import { buildApp } from '../../../helpers/app.js'
import { testConfig } from '../../../helpers/config.js'
import { tarGz } from '../../../helpers/tarball.js'

// `cacheFrom` makes the worker pull cache from a registry with the worker's own credentials, and a
// cache hit hands over the layers someone else built. So a request may only name images in
// repositories its token may push to: team A's token naming team B's private image is refused,
// 403 CACHE_FROM_NOT_ALLOWED, and nothing of it is stored or queued.

const REPO = 'https://git.example.com/team-a/app.git'
const TEAM_A = 'localhost:5000/team-a/*'
const TEAM_B_IMAGE = 'localhost:5000/team-b/private@sha256:' + 'b'.repeat(64)

t.test('a token naming another team\'s image in cacheFrom is refused, on every way in; its own images are accepted', async (t) => {
  const config = testConfig(t, { pushAllow: TEAM_A })
  const app = await buildApp(t, config)
  const redis = new Redis(config.redisUrl)
  t.teardown(() => redis.quit())
  const made = await app.inject({ method: 'POST', url: '/v1/tokens', payload: { name: 'team a', scopes: ['builds:read', 'builds:write'] } })
  const headers = { authorization: `Bearer ${made.json<{ token: string }>().token}` }
  const post = (payload: object) => app.inject({ method: 'POST', url: '/v1/builds', payload, headers })
  const refused = (response: Awaited<ReturnType<typeof post>>, what: string) => {
    t.equal(response.statusCode, 403, `${what}: ${response.body}`)
    const body = response.json<{ code: string; message: string }>()
    t.equal(body.code, 'CACHE_FROM_NOT_ALLOWED', what)
    t.match(body.message, 'localhost:5000/team-b/private', 'names the image')
    t.match(body.message, TEAM_A, 'names the patterns it may use')
    t.match(body.message, /cacheFrom/, 'says which field')
  }

  refused(await post({ repo: REPO, image: 'localhost:5000/team-a/app', cacheFrom: [TEAM_B_IMAGE] }), 'a pushed build')
  refused(await post({ repo: REPO, push: false, cacheFrom: [TEAM_B_IMAGE] }), 'a build that is not pushed')
  refused(await post({ repo: REPO, image: 'localhost:5000/team-a/app', cacheFrom: ['localhost:5000/team-a/app:main', 'localhost:5000/team-b/private:latest'] }), 'the second of two')
  const tar = await tarGz([{ name: 'Dockerfile', content: 'FROM busybox\n' }])
  const options = encodeURIComponent(JSON.stringify({ push: false, cacheFrom: [TEAM_B_IMAGE] }))
  const upload = await app.inject({ method: 'POST', url: `/v1/builds?options=${options}`, headers: { ...headers, 'content-type': 'application/gzip' }, payload: tar })
  refused(upload, 'an upload')
  t.equal((await redis.keys(`${config.prefix}:build:*`)).length, 0, 'nothing refused was stored')

  const accepted = await post({ repo: REPO, image: 'localhost:5000/team-a/app', cacheFrom: ['localhost:5000/team-a/app:main', 'localhost:5000/team-a/base@sha256:' + 'a'.repeat(64)] })
  t.equal(accepted.statusCode, 202, accepted.body)
  t.same(accepted.json<{ request: { cacheFrom: string[]; registryCache: boolean } }>().request.cacheFrom.length, 2)
})

t.test('a malformed cacheFrom reference is 400 IMAGE_NAME_INVALID; the fields have their defaults', async (t) => {
  const config = testConfig(t)
  const app = await buildApp(t, config)
  const post = (payload: object) => app.inject({ method: 'POST', url: '/v1/builds', payload })
  for (const reference of ['localhost:5000/team/app@sha256:abc', 'localhost:5000/team/app:bad:tag', 'localhost:5000/Team/App', 'localhost:5000/team/app:-x', 'localhost:5000/team/app@md5:' + 'a'.repeat(32)]) {
    const response = await post({ repo: REPO, push: false, cacheFrom: [reference] })
    t.equal(response.statusCode, 400, `${reference}: ${response.body}`)
    t.equal(response.json<{ code: string }>().code, 'IMAGE_NAME_INVALID', reference)
  }
  const tooMany = await post({ repo: REPO, push: false, cacheFrom: ['a/b', 'a/c', 'a/d', 'a/e', 'a/f'] })
  t.equal(tooMany.statusCode, 400, 'at most 4')
  const plain = await post({ repo: REPO, push: false })
  t.equal(plain.statusCode, 202, plain.body)
  t.match(plain.json(), { request: { cacheFrom: [], registryCache: true } }, 'defaults: no extra sources, registry cache on')
  const off = await post({ repo: REPO, push: false, registryCache: false })
  t.match(off.json(), { request: { registryCache: false } })
})
