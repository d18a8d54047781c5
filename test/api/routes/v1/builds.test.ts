import { Queue } from 'bullmq'
import t, { type Test } from 'tap'
import type { Build } from '../../../../src/domain/schemas/build.js'
import { buildApp } from '../../../helpers/app.js'
import { testConfig } from '../../../helpers/config.js'
import { defaultRequest } from '../../../helpers/fixtures.js'

// The API alone, on real Redis and without a worker: what is accepted is stored and queued;
// what is refused gets a 4xx with a stable code and queues nothing.

async function setup (t: Test, allowLocalRepos = true) {
  const config = testConfig(t, { allowLocalRepos })
  const app = await buildApp(t, config)
  const queue = new Queue('builds', { connection: { url: config.redisUrl }, prefix: config.prefix })
  t.teardown(() => queue.close())
  const post = (payload: unknown) => app.inject({ method: 'POST', url: '/v1/builds', payload: payload as object })
  return { app, queue, post }
}

t.test('POST /v1/builds stores, queues and answers 202 with Location', async (t) => {
  const { app, queue, post } = await setup(t)
  const response = await post({ repo: 'https://git.example.com/team/app.git', ref: 'main', image: 'localhost:5000/team/app' })
  t.equal(response.statusCode, 202)
  const build = response.json<Build>()
  t.equal(response.headers.location, `/v1/builds/${build.id}`)
  t.match(build.id, /^[0-9A-HJKMNP-TV-Z]{26}$/)
  t.equal(build.status, 'queued')
  t.same(
    build.request,
    { ...defaultRequest('https://git.example.com/team/app.git', 'localhost:5000/team/app'), ref: 'main', push: true, sbom: true, provenance: true, sign: true },
    'every default filled in'
  )
  t.same(build.links, { self: `/v1/builds/${build.id}`, logs: `/v1/builds/${build.id}/logs` })
  const stored = await app.inject({ method: 'GET', url: `/v1/builds/${build.id}` })
  t.same(stored.json(), build, 'GET returns what POST answered')
  const job = await queue.getJob(build.id)
  t.same(job?.data, { buildId: build.id }, 'the job carries the build id and nothing else')
})

t.test('refusals: a 4xx with a stable code, and nothing queued', async (t) => {
  const { queue, post } = await setup(t, false)
  const cases: [string, unknown, number, string, RegExp?][] = [
    ['no repo', {}, 400, 'VALIDATION_FAILED', /body\.repo: is required/],
    ['unknown field', { repo: 'https://h/x', fooBar: 1 }, 400, 'VALIDATION_FAILED', /body\.fooBar: unknown field \(known fields: repo, ref/],
    ['wrong type', { repo: 'https://h/x', push: 'yes' }, 400, 'VALIDATION_FAILED', /body\.push: must be boolean/],
    ['number as string', { repo: 'https://h/x', timeoutSeconds: '10' }, 400, 'VALIDATION_FAILED', /timeoutSeconds/],
    ['timeout too long', { repo: 'https://h/x', timeoutSeconds: 999_999 }, 400, 'VALIDATION_FAILED'],
    ['bad tag', { repo: 'https://h/x', tags: ['has space'] }, 400, 'VALIDATION_FAILED', /body\.tags\[0\]: must match .* \(a Docker tag/],
    ['empty tags', { repo: 'https://h/x', tags: [] }, 400, 'VALIDATION_FAILED'],
    ['bad build arg name', { repo: 'https://h/x', buildArgs: { 'A-B': 'x' } }, 400, 'VALIDATION_FAILED', /body\.buildArgs\.A-B: the name 'A-B' must match/],
    ['build arg not a string', { repo: 'https://h/x', buildArgs: { A: 1 } }, 400, 'VALIDATION_FAILED'],
    ['ext transport', { repo: 'ext::sh -c touch% /tmp/pwned' }, 400, 'REPO_URL_INVALID'],
    ['option as repo', { repo: '--upload-pack=touch /tmp/pwned' }, 400, 'REPO_URL_INVALID'],
    ['plain http', { repo: 'http://h/x.git' }, 400, 'REPO_URL_INVALID', /plain http/],
    ['local path', { repo: '/srv/git/app' }, 400, 'LOCAL_REPOS_DISABLED', /SLIPWAY_ALLOW_LOCAL_REPOS/],
    ['file url', { repo: 'file:///srv/git/app' }, 400, 'LOCAL_REPOS_DISABLED'],
    ['option as ref', { repo: 'https://h/x', ref: '--upload-pack=touch /tmp/pwned' }, 400, 'REF_INVALID'],
    ['ref with ..', { repo: 'https://h/x', ref: 'a..b' }, 400, 'REF_INVALID'],
    ['context escapes', { repo: 'https://h/x', context: '../..' }, 400, 'PATH_INVALID'],
    ['absolute dockerfile', { repo: 'https://h/x', dockerfile: '/etc/passwd' }, 400, 'PATH_INVALID'],
    ['image with tag', { repo: 'https://h/x', image: 'localhost:5000/app:v1' }, 400, 'IMAGE_NAME_INVALID', /tags/],
    ['uppercase image', { repo: 'https://h/x', image: 'Team/App' }, 400, 'IMAGE_NAME_INVALID'],
    ['push without image', { repo: 'https://h/x', push: true }, 400, 'PUSH_WITHOUT_IMAGE'],
    // A build may narrow the operator's network, never widen it.
    ['host network', { repo: 'https://h/x', network: 'host' }, 400, 'VALIDATION_FAILED', /body\.network: must be equal to one of the allowed values \(.*none, or default/],
    ["another container's network", { repo: 'https://h/x', network: 'container:redis' }, 400, 'VALIDATION_FAILED', /body\.network/],
    ['a named network', { repo: 'https://h/x', network: 'bridge' }, 400, 'VALIDATION_FAILED', /body\.network/],
    ['push into the local namespace', { repo: 'https://h/x', image: 'slipway.local/team/app' }, 400, 'IMAGE_NAME_INVALID', /SLIPWAY_LOCAL_IMAGE_NAMESPACE/]
  ]
  for (const [name, payload, status, code, message] of cases) {
    const response = await post(payload)
    t.equal(response.statusCode, status, `${name}: status`)
    const body = response.json()
    t.equal(body.code, code, `${name}: code`)
    t.equal(body.statusCode, status)
    if (message) t.match(body.message, message, `${name}: message`)
  }
  t.same(await queue.getJobCounts('waiting', 'active', 'delayed', 'prioritized'), { waiting: 0, active: 0, delayed: 0, prioritized: 0 })
})

t.test('credentials in a repository URL are refused and never echoed', async (t) => {
  const { post } = await setup(t)
  const response = await post({ repo: 'https://ci-bot:ghp_TOPSECRET123@github.com/acme/app.git' })
  t.equal(response.statusCode, 400)
  t.equal(response.json().code, 'REPO_URL_INVALID')
  t.notMatch(response.body, /TOPSECRET|ci-bot/)
})

t.test('a look-alike host with a bidirectional control is refused with REPO_URL_INVALID, and nothing is stored or queued', async (t) => {
  const { app, queue, post } = await setup(t)
  // "git" with a Cyrillic "і", and a right-to-left override at the end.
  for (const repo of ['https://g\u0456t.example.com/a.git\u202e', 'https://g\u0456t.example.com/a.git', 'https://xn--gt-hoc.example.com/a.git', 'https://git.example.com/a.git\u202e']) {
    const response = await post({ repo })
    t.equal(response.statusCode, 400, JSON.stringify(repo))
    t.match(response.json(), { statusCode: 400, code: 'REPO_URL_INVALID', message: /mixes Latin and Cyrillic|invisible or bidirectional/ })
  }
  t.same(await queue.getJobCounts('waiting', 'active', 'delayed', 'prioritized'), { waiting: 0, active: 0, delayed: 0, prioritized: 0 }, 'nothing queued')
  t.same((await app.inject({ method: 'GET', url: '/v1/builds' })).json().items, [], 'nothing stored')
})

t.test('bodies that are not JSON objects', async (t) => {
  const { app } = await setup(t)
  const invalid = await app.inject({ method: 'POST', url: '/v1/builds', headers: { 'content-type': 'application/json' }, payload: '{"repo": ' })
  t.equal(invalid.statusCode, 400)
  t.equal(invalid.json().code, 'BODY_INVALID')
  const text = await app.inject({ method: 'POST', url: '/v1/builds', headers: { 'content-type': 'text/plain' }, payload: 'repo=x' })
  t.equal(text.statusCode, 415)
  t.equal(text.json().code, 'UNSUPPORTED_MEDIA_TYPE')
  const huge = await app.inject({
    method: 'POST',
    url: '/v1/builds',
    payload: { repo: 'https://h/x', labels: { big: 'x'.repeat(2 * 1024 * 1024) } }
  })
  t.equal(huge.statusCode, 413)
  t.equal(huge.json().code, 'BODY_TOO_LARGE')
})

t.test('GET a build that does not exist, and a route that does not exist', async (t) => {
  const { app } = await setup(t)
  for (const url of ['/v1/builds/01ARZ3NDEKTSV4RRFFQ69G5FAV', '/v1/builds/not-an-id', '/v1/builds/01ARZ3NDEKTSV4RRFFQ69G5FAV/logs']) {
    const response = await app.inject({ method: 'GET', url })
    t.equal(response.statusCode, 404, url)
    t.equal(response.json().code, 'BUILD_NOT_FOUND', url)
  }
  const nowhere = await app.inject({ method: 'GET', url: '/v2/builds' })
  t.equal(nowhere.statusCode, 404)
  t.equal(nowhere.json().code, 'ROUTE_NOT_FOUND')
})

t.test('GET /v1/builds: newest first, cursor pages, filters', async (t) => {
  const { app, post } = await setup(t)
  const ids: string[] = []
  // force: identical requests would otherwise join the one already queued.
  for (const repo of ['https://h/a.git', 'https://h/b', 'https://h/a', 'https://h/b', 'https://h/a']) {
    ids.push((await post({ repo, force: true })).json<Build>().id)
  }
  const newestFirst = [...ids].reverse()

  const seen: string[] = []
  let cursor: string | null = null
  let pages = 0
  do {
    const url: string = `/v1/builds?limit=2${cursor ? `&cursor=${cursor}` : ''}`
    const page = (await app.inject({ method: 'GET', url })).json<{ items: Build[]; nextCursor: string | null }>()
    t.ok(page.items.length <= 2)
    seen.push(...page.items.map((build) => build.id))
    cursor = page.nextCursor
    pages += 1
  } while (cursor && pages < 10)
  t.same(seen, newestFirst, 'pages walk every build once, newest first')
  t.equal(pages, 3)

  const forA = (await app.inject({ method: 'GET', url: `/v1/builds?repo=${encodeURIComponent('https://h/a')}` })).json()
  t.same(
    forA.items.map((build: Build) => build.id),
    [ids[4], ids[2], ids[0]],
    'the repo filter matches the repository however its URL was written'
  )
  const queued = (await app.inject({ method: 'GET', url: '/v1/builds?status=queued&limit=100' })).json()
  t.equal(queued.items.length, 5)
  const failed = (await app.inject({ method: 'GET', url: '/v1/builds?status=failed' })).json()
  t.same(failed, { items: [], nextCursor: null })

  for (const url of ['/v1/builds?limit=101', '/v1/builds?limit=0', '/v1/builds?status=done', '/v1/builds?cursor=nope', '/v1/builds?sort=asc']) {
    const response = await app.inject({ method: 'GET', url })
    t.equal(response.statusCode, 400, url)
    t.equal(response.json().code, 'VALIDATION_FAILED', url)
  }
})

t.test('health and readiness', async (t) => {
  const { app } = await setup(t)
  t.same((await app.inject({ method: 'GET', url: '/healthz' })).json(), { status: 'ok' })
  const ready = await app.inject({ method: 'GET', url: '/readyz' })
  t.equal(ready.statusCode, 200)
  t.same(ready.json(), { status: 'ready', redis: true, docker: true, warnings: [] })
})

t.test('without Redis the API answers 503 REDIS_UNAVAILABLE at once', async (t) => {
  // Nothing listens on port 1.
  const app = await buildApp(t, { ...testConfig(t), redisUrl: 'redis://127.0.0.1:1' })
  const started = Date.now()
  const response = await app.inject({ method: 'POST', url: '/v1/builds', payload: { repo: 'https://h/x' } })
  t.equal(response.statusCode, 503)
  t.equal(response.json().code, 'REDIS_UNAVAILABLE')
  t.ok(Date.now() - started < 1000, 'within a second')
  const ready = await app.inject({ method: 'GET', url: '/readyz' })
  t.equal(ready.statusCode, 503)
})
