import t from 'tap'
import type { FastifyInstance } from 'fastify'
import type { Actor, AuditEntry } from '../../../../src/domain/schemas/audit.js'
import type { Build } from '../../../../src/domain/schemas/build.js'
import { buildApp } from '../../../helpers/app.js'
import { testConfig } from '../../../helpers/config.js'
import { gitHubPushPayload, sendGitHubEvent } from '../../../helpers/push-events.js'

// The API alone, on real Redis and without a worker: who made and canceled what is kept on the
// resources and in the admin-only trail at GET /v1/audit.

const bearer = (token: string) => ({ authorization: `Bearer ${token}` })
const ADMIN: Actor = { kind: 'token', id: 'admin', name: 'SLIPWAY_ADMIN_TOKEN', deliveryId: null }

async function makeToken (app: FastifyInstance, name: string, scopes: string[]) {
  const made = await app.inject({ method: 'POST', url: '/v1/tokens', payload: { name, scopes } })
  const { id, token } = made.json<{ id: string; token: string }>()
  return { id, token, actor: { kind: 'token', id, name, deliveryId: null } as Actor }
}

async function audit (app: FastifyInstance, query = '') {
  const response = await app.inject({ method: 'GET', url: `/v1/audit${query}` })
  if (response.statusCode !== 200) throw new Error(`GET /v1/audit${query}: ${response.body}`)
  return response.json<{ items: AuditEntry[]; nextCursor: string | null }>()
}

t.test('builds, cancels, tokens, webhooks and rules record who did them, on the resource and in the trail', async (t) => {
  const app = await buildApp(t, testConfig(t))
  const teamA = await makeToken(app, 'team-a ci', ['builds:write', 'builds:read'])
  const submitted = await app.inject({ method: 'POST', url: '/v1/builds', headers: bearer(teamA.token), payload: { repo: 'https://git.example.com/a/app.git' } })
  const build = submitted.json<Build>()
  t.same(build.createdBy, teamA.actor, 'the build names the token that asked for it')
  t.same([build.canceledBy, build.canceledAt], [null, null])

  const canceled = await app.inject({ method: 'POST', url: `/v1/builds/${build.id}/cancel` })
  t.same(canceled.json<Build>().canceledBy, ADMIN, 'and who canceled it')
  t.match(canceled.json<Build>().canceledAt, /Z$/)
  t.match(canceled.json<Build>().error, { code: 'CANCELED', message: "Canceled by token 'SLIPWAY_ADMIN_TOKEN'." })
  const retried = (await app.inject({ method: 'POST', url: `/v1/builds/${build.id}/retry`, headers: bearer(teamA.token) })).json<Build>()
  t.same([retried.createdBy, retried.retryOf], [teamA.actor, build.id])

  const webhook = (await app.inject({ method: 'POST', url: '/v1/webhooks', payload: { url: 'https://hooks.example.com/services/T0/B0/SECRETPATH' } })).json()
  t.same(webhook.createdBy, ADMIN)
  await app.inject({ method: 'PATCH', url: `/v1/webhooks/${webhook.id}`, payload: { enabled: false } })
  await app.inject({ method: 'DELETE', url: `/v1/webhooks/${webhook.id}` })
  const rule = (await app.inject({ method: 'POST', url: '/v1/triggers', payload: { provider: 'github', repo: 'https://github.com/acme/app.git', branches: ['main'] } })).json()
  t.same(rule.createdBy, ADMIN)
  const tokens = (await app.inject({ method: 'GET', url: '/v1/tokens' })).json<{ items: { id: string; createdBy: Actor }[] }>()
  t.same(tokens.items.find((token) => token.id === teamA.id)?.createdBy, ADMIN, 'a token names who made it')
  await app.inject({ method: 'DELETE', url: `/v1/tokens/${teamA.id}` })

  const trail = await audit(app)
  t.same(
    trail.items.map((entry) => [entry.action, entry.actor.id, entry.resourceId]),
    [
      ['token.revoke', 'admin', teamA.id],
      ['trigger.create', 'admin', rule.id],
      ['webhook.delete', 'admin', webhook.id],
      ['webhook.update', 'admin', webhook.id],
      ['webhook.create', 'admin', webhook.id],
      ['build.retry', teamA.id, retried.id],
      ['build.cancel', 'admin', build.id],
      ['build.create', teamA.id, build.id],
      ['token.create', 'admin', teamA.id]
    ],
    'newest first, every change with its actor'
  )
  t.notMatch(JSON.stringify(trail), 'SECRETPATH', "a webhook's path (a chat webhook's secret) is not in the trail")
  t.match(trail.items.find((entry) => entry.action === 'build.create')?.summary, 'https://git.example.com/a/app.git')

  t.same((await audit(app, `?actor=${teamA.id}`)).items.map((entry) => entry.action), ['build.retry', 'build.create'], 'filtered by actor')
  t.same((await audit(app, '?kind=webhook')).items.map((entry) => entry.action), ['webhook.delete', 'webhook.update', 'webhook.create'], 'by kind')
  t.same((await audit(app, '?actor=admin&kind=token')).items.map((entry) => entry.action), ['token.revoke', 'token.create'], 'by both')

  const pages: string[] = []
  let cursor: string | null = null
  do {
    const page = await audit(app, `?kind=webhook&limit=2${cursor ? `&cursor=${cursor}` : ''}`)
    pages.push(page.items.map((entry) => entry.action).join(','))
    cursor = page.nextCursor
  } while (cursor)
  t.same(pages, ['webhook.delete,webhook.update', 'webhook.create'], 'pages follow the cursor to the end')
})

t.test('the trail is for admins only', async (t) => {
  const app = await buildApp(t, testConfig(t))
  const reader = await makeToken(app, 'reader', ['builds:read', 'builds:write', 'webhooks:admin', 'triggers:admin'])
  const refused = await app.inject({ method: 'GET', url: '/v1/audit', headers: bearer(reader.token) })
  t.equal(refused.statusCode, 403)
  t.equal(refused.json().code, 'FORBIDDEN')
  t.equal((await app.inject({ method: 'GET', url: '/v1/audit?kind=secrets' })).json().code, 'VALIDATION_FAILED')
})

t.test('a build a push started names its trigger rule, the delivery, the ref it was for and who the event says pushed', async (t) => {
  const app = await buildApp(t, testConfig(t))
  const rule = (await app.inject({ method: 'POST', url: '/v1/triggers', payload: { provider: 'github', repo: 'https://github.com/acme/app.git', name: 'app main', branches: ['main'] } })).json()
  const body = gitHubPushPayload({ repoUrl: 'https://github.com/acme/app.git', ref: 'refs/heads/main', after: 'b'.repeat(40) })
  const event = await sendGitHubEvent(app, { secret: rule.secret, body, deliveryId: 'delivery-1' })
  t.equal(event.statusCode, 202, event.body)
  const built = (await app.inject({ method: 'GET', url: event.json().builds[0].links.self })).json<Build>()
  const actor: Actor = { kind: 'trigger', id: rule.id, name: 'app main', deliveryId: 'delivery-1', ref: 'refs/heads/main', pusher: 'octocat' }
  t.same(built.createdBy, actor)
  t.same((await audit(app, `?actor=${rule.id}`)).items.map((entry) => [entry.action, entry.actor]), [['build.create', actor]])

  // A sender whose login is no plain name still starts its build, recorded without one.
  const hostile = { ...gitHubPushPayload({ repoUrl: 'https://github.com/acme/app.git', ref: 'refs/heads/main', after: 'c'.repeat(40) }), sender: { login: '<script>x</script>\n' } }
  const second = await sendGitHubEvent(app, { secret: rule.secret, body: hostile, deliveryId: 'delivery-2' })
  t.equal(second.statusCode, 202, second.body)
  const unnamed = (await app.inject({ method: 'GET', url: second.json().builds[0].links.self })).json<Build>()
  const { pusher: _pusher, ...unnamedActor } = actor
  t.same(unnamed.createdBy, { ...unnamedActor, deliveryId: 'delivery-2' }, 'no pusher, the rest as ever')
  t.notOk(JSON.stringify(unnamed.createdBy).includes('script'), 'nothing of the login kept')
})

t.test("Idempotency-Key is the token's own: another token's request with the same key is another request", async (t) => {
  const app = await buildApp(t, testConfig(t))
  const [a, b] = [await makeToken(app, 'a', ['builds:write']), await makeToken(app, 'b', ['builds:write'])]
  // force: an identical request would otherwise join the queued build, whoever sent it.
  const submit = (who: { token: string }, repo: string) =>
    app.inject({ method: 'POST', url: '/v1/builds', headers: { ...bearer(who.token), 'idempotency-key': 'deploy-42' }, payload: { repo, force: true } })
  const first = await submit(a, 'https://git.example.com/a/app.git')
  t.equal(first.statusCode, 202)

  const sameBody = await submit(b, 'https://git.example.com/a/app.git')
  t.equal(sameBody.statusCode, 202)
  t.notOk(sameBody.headers['idempotent-replayed'], "b is not handed a's build")
  t.not(sameBody.json<Build>().id, first.json<Build>().id)
  t.same(sameBody.json<Build>().createdBy?.id, b.id)

  const otherBody = await submit(b, 'https://git.example.com/b/other.git')
  t.equal(otherBody.statusCode, 422, "b's own key, reused with another body, is refused as before")
  const replay = await submit(a, 'https://git.example.com/a/app.git')
  t.equal(replay.headers['idempotent-replayed'], 'true')
  t.equal(replay.json<Build>().id, first.json<Build>().id, 'a still gets its own build back')
})

t.test('a build stored before Slipway recorded who made it, or its network, still answers', async (t) => {
  const config = testConfig(t)
  const app = await buildApp(t, config)
  const build = (await app.inject({ method: 'POST', url: '/v1/builds', payload: { repo: 'https://git.example.com/a/app.git' } })).json<Build>()
  const key = `${config.prefix}:build:{${build.id}}`
  const { network: _network, ...request } = build.request
  await app.storage.connection.multi().hdel(key, 'createdBy', 'canceledBy', 'canceledAt').hset(key, 'request', JSON.stringify(request)).exec()
  const old = await app.inject({ method: 'GET', url: `/v1/builds/${build.id}` })
  t.equal(old.statusCode, 200, old.body)
  t.match(old.json<Build>(), { createdBy: null, canceledBy: null, canceledAt: null, request: { network: 'default' } })
})

t.test('a build the trail could not record is not queued: the answer is 503 and nothing runs unrecorded', async (t) => {
  const config = testConfig(t)
  const app = await buildApp(t, config)
  // Real Redis, made to refuse the trail's write: its stream key holds a string.
  await app.storage.connection.set(`${config.prefix}:{audit}:all`, 'not a stream')
  const refused = await app.inject({ method: 'POST', url: '/v1/builds', payload: { repo: 'https://git.example.com/a/app.git' } })
  t.equal(refused.statusCode, 503, refused.body)
  t.equal(refused.json().code, 'REDIS_UNAVAILABLE')
  const queued = (await app.inject({ method: 'GET', url: '/v1/builds?status=queued' })).json<{ items: Build[] }>()
  t.same(queued.items, [], 'nothing waits to run')
  const [failed] = (await app.inject({ method: 'GET', url: '/v1/builds' })).json<{ items: Build[] }>().items
  t.match(failed, { status: 'failed', error: { code: 'INTERNAL' } })
})
