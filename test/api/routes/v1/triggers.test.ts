import { randomUUID } from 'node:crypto'
import { Queue } from 'bullmq'
import t, { type Test } from 'tap'
import type { Config } from '../../../../src/domain/config.js'
import type { Build } from '../../../../src/domain/schemas/build.js'
import type { Trigger, TriggerEventResult } from '../../../../src/domain/schemas/trigger.js'
import { gitHubSignature } from '../../../../src/domain/triggers/event-signature.js'
import { TRIGGER_LABEL } from '../../../../src/services/trigger-service.js'
import { buildApp } from '../../../helpers/app.js'
import { testConfig } from '../../../helpers/config.js'
import { gitHubPushPayload, gitLabPushPayload, sendGitHubEvent, sendGitLabEvent } from '../../../helpers/push-events.js'

// The API alone, on real Redis and without a worker: rules are kept and shown without their
// secrets; events are checked, matched and deduplicated, and what they start is queued.

const REPO = 'git@github.com:acme/app.git'
const EVENT_REPO = 'https://github.com/acme/app.git'
const COMMIT = 'a'.repeat(40)

async function setup (t: Test, overrides: Partial<Config> = {}) {
  const config = testConfig(t, overrides)
  const app = await buildApp(t, config)
  const createRule = async (body: object) => {
    const response = await app.inject({ method: 'POST', url: '/v1/triggers', payload: { provider: 'github', repo: REPO, branches: ['main'], ...body } })
    t.equal(response.statusCode, 201, response.body)
    return response.json<Trigger>()
  }
  const builds = async () => (await app.inject({ method: 'GET', url: '/v1/builds?limit=100' })).json<{ items: Build[] }>().items
  const push = (ref = 'refs/heads/main', after = COMMIT) => gitHubPushPayload({ repoUrl: EVENT_REPO, ref, after })
  const queue = new Queue('builds', { connection: { url: config.redisUrl }, prefix: config.prefix })
  t.teardown(() => queue.close())
  const queued = async () => (await queue.getJobs(['waiting', 'prioritized', 'active', 'delayed'])).map((job) => job.data.buildId as string).sort()
  return { config, app, createRule, builds, push, queued }
}

t.test('a rule is created with its secret shown once, then read, listed, changed and deleted', async (t) => {
  const { app, createRule } = await setup(t)
  const rule = await createRule({ name: 'app main', branches: ['main', 'release/*'], build: { image: 'localhost:5000/acme/app', noCache: true } })
  t.match(rule, {
    name: 'app main',
    provider: 'github',
    repo: REPO,
    branches: ['main', 'release/*'],
    build: { image: 'localhost:5000/acme/app', noCache: true },
    enabled: true,
    eventsUrl: 'http://127.0.0.1:8080/v1/triggers/github'
  })
  t.match(rule.secret, /^[A-Za-z0-9_-]{43}$/, 'Slipway made a secret')

  const got = await app.inject({ method: 'GET', url: `/v1/triggers/${rule.id}` })
  const { secret: _secret, ...shown } = rule
  t.same(got.json(), shown, 'the same rule, without its secret')
  t.notOk(got.body.includes(rule.secret!), 'the secret is never shown again')
  const listed = await app.inject({ method: 'GET', url: '/v1/triggers' })
  t.same(listed.json<{ items: Trigger[] }>().items.map((item) => item.id), [rule.id])
  t.notOk(listed.body.includes(rule.secret!))

  const changed = await app.inject({ method: 'PATCH', url: `/v1/triggers/${rule.id}`, payload: { enabled: false, branches: ['develop'], name: null } })
  t.equal(changed.statusCode, 200, changed.body)
  t.match(changed.json(), { enabled: false, branches: ['develop'], name: null, build: { image: 'localhost:5000/acme/app' } })
  t.notOk(changed.body.includes(rule.secret!))

  t.equal((await app.inject({ method: 'DELETE', url: `/v1/triggers/${rule.id}` })).statusCode, 204)
  const gone = await app.inject({ method: 'GET', url: `/v1/triggers/${rule.id}` })
  t.equal(gone.statusCode, 404)
  t.equal(gone.json().code, 'TRIGGER_NOT_FOUND')
  t.equal((await app.inject({ method: 'DELETE', url: `/v1/triggers/${rule.id}` })).json().code, 'TRIGGER_NOT_FOUND')
  const event = await sendGitHubEvent(app, { secret: rule.secret!, body: gitHubPushPayload({ repoUrl: EVENT_REPO, ref: 'refs/heads/develop', after: COMMIT }) })
  t.equal(event.json().code, 'TRIGGER_SIGNATURE_INVALID', 'a deleted rule matches no event')
})

t.test('the rule routes need the triggers:admin scope', async (t) => {
  const { app } = await setup(t)
  const tokenWith = async (scopes: string[]) =>
    (await app.inject({ method: 'POST', url: '/v1/tokens', payload: { name: scopes.join(','), scopes } })).json<{ token: string }>().token
  const builder = await tokenWith(['builds:read', 'builds:write', 'webhooks:admin'])
  const refused = await app.inject({ method: 'GET', url: '/v1/triggers', headers: { authorization: `Bearer ${builder}` } })
  t.equal(refused.statusCode, 403)
  t.match(refused.json().message, /lacks the scope 'triggers:admin'/)
  const admin = await tokenWith(['triggers:admin'])
  const created = await app.inject({
    method: 'POST',
    url: '/v1/triggers',
    headers: { authorization: `Bearer ${admin}` },
    payload: { provider: 'gitlab', repo: 'https://gitlab.example.com/acme/app.git', branches: ['main'] }
  })
  t.equal(created.statusCode, 201, created.body)
  t.equal((await app.inject({ method: 'GET', url: '/v1/triggers', headers: { authorization: '' } })).statusCode, 401)
})

t.test('a rule is checked as the builds it will start are', async (t) => {
  const { app } = await setup(t, { allowLocalRepos: false })
  const refusal = async (body: object) => {
    const response = await app.inject({ method: 'POST', url: '/v1/triggers', payload: { provider: 'github', repo: REPO, branches: ['main'], ...body } })
    t.equal(response.statusCode, 400, response.body)
    return response.json<{ code: string; message: string }>()
  }
  t.equal((await refusal({ repo: 'https://user:pw@github.com/acme/app.git' })).code, 'REPO_URL_INVALID')
  t.equal((await refusal({ repo: '/srv/git/app' })).code, 'LOCAL_REPOS_DISABLED')
  t.equal((await refusal({ build: { push: true } })).code, 'PUSH_WITHOUT_IMAGE')
  t.equal((await refusal({ build: { timeoutSeconds: 500_000 } })).code, 'TIMEOUT_TOO_LONG')
  t.equal((await refusal({ build: { context: '../x' } })).code, 'PATH_INVALID')
  t.equal((await refusal({ build: { ref: 'main' } })).code, 'VALIDATION_FAILED', 'the push decides the ref')
  t.equal((await refusal({ build: { webhooks: [{ url: 'https://hooks.example.com/x' }] } })).code, 'VALIDATION_FAILED', 'no secrets in rules')
  t.equal((await refusal({ branches: [] })).code, 'VALIDATION_FAILED')
  t.equal((await refusal({ provider: 'bitbucket' })).code, 'VALIDATION_FAILED')
  t.equal((await refusal({ secret: 'short' })).code, 'VALIDATION_FAILED')
  const { code } = (await app.inject({ method: 'PATCH', url: '/v1/triggers/nope', payload: { enabled: false } })).json()
  t.equal(code, 'TRIGGER_NOT_FOUND')
})

t.test('a signed push starts one build of the rule\'s repository at the pushed commit; its redelivery starts none', async (t) => {
  const { app, createRule, builds, push } = await setup(t)
  const rule = await createRule({ build: { image: 'localhost:5000/acme/app', buildArgs: { MODE: 'ci' } } })
  const deliveryId = randomUUID()
  const first = await sendGitHubEvent(app, { secret: rule.secret!, body: push(), deliveryId })
  t.equal(first.statusCode, 202, first.body)
  const result = first.json<TriggerEventResult>()
  t.match(result, { status: 'started', event: 'push', deliveryId, reason: null, rules: [rule.id] })
  t.equal(result.builds.length, 1)
  const [started] = result.builds
  t.same(started?.links, { self: `/v1/builds/${started?.id}`, logs: `/v1/builds/${started?.id}/logs` })
  t.notOk(first.body.includes(rule.secret!))

  const [build] = await builds()
  t.equal(build?.id, started?.id)
  t.match(build?.request, {
    repo: REPO,
    ref: COMMIT,
    image: 'localhost:5000/acme/app',
    push: true,
    buildArgs: { MODE: 'ci' },
    labels: { [TRIGGER_LABEL]: rule.id }
  })

  const again = await sendGitHubEvent(app, { secret: rule.secret!, body: push(), deliveryId })
  t.equal(again.statusCode, 200, again.body)
  t.match(again.json(), { status: 'duplicate', rules: [rule.id], builds: result.builds })
  t.equal((await builds()).length, 1, 'the redelivery started nothing')
})

t.test('the same delivery arriving many times at once starts one build', async (t) => {
  const { app, createRule, builds, push } = await setup(t)
  const rule = await createRule({})
  const deliveryId = randomUUID()
  const answers = await Promise.all(Array.from({ length: 6 }, () => sendGitHubEvent(app, { secret: rule.secret!, body: push(), deliveryId })))
  t.same(answers.map((answer) => answer.statusCode).sort(), [200, 200, 200, 200, 200, 202])
  const ids = new Set(answers.flatMap((answer) => answer.json<TriggerEventResult>().builds.map((build) => build.id)))
  t.equal(ids.size, 1, 'every answer names the same build')
  t.equal((await builds()).length, 1)
})

t.test('a delivery whose handling failed part way can be sent again, and builds each rule once', async (t) => {
  const { config, app, createRule, builds, push } = await setup(t)
  // Two rules behind one webhook: the same secret opens both.
  const secret = 'one-webhook-two-rules-0123456789'
  const quick = await createRule({ name: 'quick', secret })
  const slow = await createRule({ name: 'slow', secret, build: { timeoutSeconds: 7200 } })
  // A replica whose limits no longer allow the second rule's options: the first rule's build is
  // made, then the second fails, as if the handler had died between them.
  const stricter = await buildApp(t, { ...config, buildTimeoutMaxSeconds: 3600 })
  const deliveryId = randomUUID()
  const failed = await sendGitHubEvent(stricter, { secret: quick.secret!, body: push(), deliveryId })
  t.equal(failed.json().code, 'TIMEOUT_TOO_LONG')
  const partial = await builds()
  t.equal(partial.length, 1, 'the first rule built before the failure')

  const resent = await sendGitHubEvent(app, { secret: slow.secret!, body: push(), deliveryId })
  t.equal(resent.statusCode, 202, resent.body)
  const result = resent.json<TriggerEventResult>()
  t.same(result.rules, [quick.id, slow.id])
  t.equal(result.builds.find((build) => build.ruleId === quick.id)?.id, partial[0]?.id, 'the first rule\'s build is the one made before')
  t.equal((await builds()).length, 2, 'one build per rule, none twice')
})

t.test('several matching rules start a build each; rules that do not match, or are off, start none', async (t) => {
  const { app, createRule, builds } = await setup(t)
  // One webhook, so one secret, for the repository's rules.
  const secret = 'one-webhook-many-rules-0123456789'
  const main = await createRule({ branches: ['main'], secret })
  const releases = await createRule({ branches: ['release/*'], build: { target: 'prod' }, secret })
  const any = await createRule({ branches: ['**'], build: { noCache: true }, secret })
  await createRule({ branches: ['**'], enabled: false, secret })
  const send = (ref: string, after: string) =>
    sendGitHubEvent(app, { secret: main.secret!, body: gitHubPushPayload({ repoUrl: 'https://github.com/acme/app', ref, after }) })

  const release = (await send('refs/heads/release/2.0', 'b'.repeat(40))).json<TriggerEventResult>()
  t.same(release.rules, [releases.id, any.id].sort())
  t.equal(release.builds.length, 2)
  const feature = (await send('refs/heads/feature/x', 'c'.repeat(40))).json<TriggerEventResult>()
  t.same(feature.rules, [any.id])
  await app.inject({ method: 'PATCH', url: `/v1/triggers/${any.id}`, payload: { enabled: false } })
  const nothing = await send('refs/heads/feature/y', 'd'.repeat(40))
  t.equal(nothing.statusCode, 202)
  t.match(nothing.json(), { status: 'ignored', reason: "no enabled trigger rule of this repository builds pushes to branch 'feature/y'", builds: [] })
  t.equal((await builds()).length, 3)
})

t.test('a rule at its quota of active builds starts nothing, and does not stop the other rules', async (t) => {
  const { app, createRule, builds } = await setup(t, { quotaActiveBuilds: 1 })
  const secret = 'one-webhook-many-rules-0123456789'
  const first = await createRule({ branches: ['main'], secret })
  const second = await createRule({ branches: ['main'], build: { target: 'prod' }, secret })
  const send = (after: string) => sendGitHubEvent(app, { secret, body: gitHubPushPayload({ repoUrl: EVENT_REPO, ref: 'refs/heads/main', after }) })
  t.equal((await send('b'.repeat(40))).json<TriggerEventResult>().builds.length, 2, 'each rule has a quota of its own')
  const secondsBuild = (await builds()).find((build) => build.createdBy?.id === second.id)!
  await app.inject({ method: 'POST', url: `/v1/builds/${secondsBuild.id}/cancel` })

  const event = await send('c'.repeat(40))
  t.equal(event.statusCode, 202, event.body)
  const result = event.json<TriggerEventResult>()
  t.match(result, { status: 'started', rules: [second.id], refused: [{ ruleId: first.id, code: 'QUOTA_EXCEEDED' }] })
  t.match(result.refused[0]?.message, /SLIPWAY_QUOTA_ACTIVE_BUILDS=1/)
  t.equal((await builds()).length, 3, 'the second rule built; the first, at its quota, did not')
})

t.test('pings, other events, tag pushes and deleted branches start nothing', async (t) => {
  const { app, createRule, builds, push } = await setup(t)
  const rule = await createRule({ branches: ['**'] })
  const send = (body: object, event = 'push') => sendGitHubEvent(app, { secret: rule.secret!, body, event })

  const ping = await send({ zen: 'Design for failure.', hook_id: 42, repository: push().repository }, 'ping')
  t.equal(ping.statusCode, 200)
  t.match(ping.json(), { status: 'ignored', event: 'ping', reason: /secret matches/ })
  const orgPing = await sendGitHubEvent(app, { secret: 'not checked', body: { zen: 'Keep it logically awesome.', hook_id: 43 }, event: 'ping' })
  t.equal(orgPing.statusCode, 200, 'a ping without a repository')
  const badPing = await sendGitHubEvent(app, { secret: 'wrong-secret-0123456789', body: { zen: 'x', repository: push().repository }, event: 'ping' })
  t.equal(badPing.json().code, 'TRIGGER_SIGNATURE_INVALID', 'a ping tells a wrong secret at once')

  const issue = await send({ action: 'opened', repository: push().repository }, 'issues')
  t.equal(issue.statusCode, 202)
  t.match(issue.json(), { status: 'ignored', event: 'issues', reason: "'issues' events start no builds; only pushes to branches and pull requests into them do" })
  t.match((await send(push('refs/tags/v1.0.0'))).json(), { status: 'ignored', reason: /not a branch/ })
  const deletion = gitHubPushPayload({ repoUrl: EVENT_REPO, ref: 'refs/heads/main', before: COMMIT, after: '0'.repeat(40) })
  t.match((await send(deletion)).json(), { status: 'ignored', reason: "branch 'main' was deleted" })
  t.equal((await builds()).length, 0)
})

t.test('events are refused without a rule for their repository or the right signature', async (t) => {
  const { app, createRule, builds, push } = await setup(t)
  const rule = await createRule({})
  const other = await createRule({ repo: 'https://github.com/acme/other.git' })
  const refusal = async (response: Awaited<ReturnType<typeof sendGitHubEvent>>, status: number, code: string) => {
    t.equal(response.statusCode, status, response.body)
    t.equal(response.json().code, code)
  }
  await refusal(await sendGitHubEvent(app, { secret: rule.secret!, body: gitHubPushPayload({ repoUrl: 'https://github.com/acme/unknown.git', ref: 'refs/heads/main', after: COMMIT }) }), 401, 'TRIGGER_SIGNATURE_INVALID')
  await refusal(await sendGitHubEvent(app, { secret: other.secret!, body: push() }), 401, 'TRIGGER_SIGNATURE_INVALID')
  await refusal(await sendGitHubEvent(app, { secret: rule.secret!, body: push(), headers: { 'x-hub-signature-256': 'sha256=' + '0'.repeat(64) } }), 401, 'TRIGGER_SIGNATURE_INVALID')
  const unsigned = await app.inject({
    method: 'POST',
    url: '/v1/triggers/github',
    payload: push(),
    headers: { authorization: '', 'x-github-event': 'push', 'x-github-delivery': randomUUID() }
  })
  await refusal(unsigned, 401, 'TRIGGER_SIGNATURE_MISSING')
  // Signed, then changed on the way: the signature covers the exact bytes.
  const signedBody = JSON.stringify(push())
  const tampered = await sendGitHubEvent(app, {
    secret: rule.secret!,
    body: signedBody.replace(COMMIT, 'b'.repeat(40)),
    headers: { 'x-hub-signature-256': gitHubSignature(rule.secret!, signedBody) }
  })
  await refusal(tampered, 401, 'TRIGGER_SIGNATURE_INVALID')
  await refusal(await sendGitHubEvent(app, { secret: rule.secret!, body: '{"ref": ' }), 400, 'BODY_INVALID')
  await refusal(await sendGitHubEvent(app, { secret: rule.secret!, body: { action: 'x' } }), 400, 'BODY_INVALID')
  await refusal(await sendGitHubEvent(app, { secret: rule.secret!, body: { ...push(), after: 'HEAD' } }), 400, 'BODY_INVALID')
  await refusal(await sendGitHubEvent(app, { secret: rule.secret!, body: push(), headers: { 'x-github-delivery': '' } }), 400, 'TRIGGER_DELIVERY_ID_INVALID')
  await refusal(await sendGitHubEvent(app, { secret: rule.secret!, body: push(), headers: { 'content-type': 'text/plain' } }), 415, 'UNSUPPORTED_MEDIA_TYPE')
  t.equal((await builds()).length, 0, 'nothing refused started a build')
})

t.test('GitHub webhooks set to form encoding work too', async (t) => {
  const { app, createRule, builds, push } = await setup(t)
  const rule = await createRule({})
  const body = new URLSearchParams({ payload: JSON.stringify(push()) }).toString()
  const response = await sendGitHubEvent(app, { secret: rule.secret!, body, headers: { 'content-type': 'application/x-www-form-urlencoded' } })
  t.equal(response.statusCode, 202, response.body)
  t.equal((await builds()).length, 1)
})

t.test('GitLab: the token is the secret, Idempotency-Key the delivery id', async (t) => {
  const { app, builds } = await setup(t)
  const created = await app.inject({
    method: 'POST',
    url: '/v1/triggers',
    payload: { provider: 'gitlab', repo: 'https://gitlab.example.com/acme/app.git', branches: ['main'], secret: 'a-token-we-chose-ourselves' }
  })
  const rule = created.json<Trigger>()
  t.equal(rule.secret, 'a-token-we-chose-ourselves', 'a given secret is kept')
  const body = gitLabPushPayload({ repoUrl: 'https://gitlab.example.com/acme/app.git', ref: 'refs/heads/main', after: COMMIT })
  const deliveryId = randomUUID()

  const wrong = await sendGitLabEvent(app, { token: 'a-token-we-chose-ourselve', body, deliveryId })
  t.equal(wrong.statusCode, 401)
  t.equal(wrong.json().code, 'TRIGGER_SIGNATURE_INVALID')
  const githubRule = await sendGitHubEvent(app, { secret: rule.secret!, body: gitHubPushPayload({ repoUrl: 'https://gitlab.example.com/acme/app.git', ref: 'refs/heads/main', after: COMMIT }) })
  t.equal(githubRule.json().code, 'TRIGGER_SIGNATURE_INVALID', 'a GitLab rule does not take GitHub events')

  const first = await sendGitLabEvent(app, { token: rule.secret!, body, deliveryId })
  t.equal(first.statusCode, 202, first.body)
  t.match(first.json(), { status: 'started', event: 'Push Hook', deliveryId, rules: [rule.id] })
  // A retry by GitLab: a new X-Gitlab-Event-UUID and webhook UUID, the same Idempotency-Key.
  const retry = await sendGitLabEvent(app, { token: rule.secret!, body, deliveryId })
  t.equal(retry.statusCode, 200)
  t.equal(retry.json().status, 'duplicate')
  const tagPush = await sendGitLabEvent(app, { token: rule.secret!, body: { ...body, object_kind: 'tag_push', ref: 'refs/tags/v1' }, event: 'Tag Push Hook' })
  t.match(tagPush.json(), { status: 'ignored', event: 'Tag Push Hook' })
  const [build] = await builds()
  t.match(build?.request, { repo: 'https://gitlab.example.com/acme/app.git', ref: COMMIT })
  t.equal(build?.createdBy?.pusher, 'jsmith', 'who pushed, by the username the event gives')
  t.equal((await builds()).length, 1)

  const changed = await app.inject({ method: 'PATCH', url: `/v1/triggers/${rule.id}`, payload: { secret: 'a-new-token-after-a-leak' } })
  t.notOk(changed.body.includes('a-new-token-after-a-leak'), 'a changed secret is not echoed')
  t.equal((await sendGitLabEvent(app, { token: rule.secret!, body })).json().code, 'TRIGGER_SIGNATURE_INVALID', 'the old token no longer works')
  t.equal((await sendGitLabEvent(app, { token: 'a-new-token-after-a-leak', body })).statusCode, 202, 'the new one does')
})

// A push event names its repository several ways. Whoever holds one repository's webhook secret
// must not be able to make another repository's rules build, by naming that repository in the
// fields the signed repository does not use.
for (const provider of ['github', 'gitlab'] as const) {
  t.test(`${provider}: a secret opens only its own rules, whatever other repositories the event names`, async (t) => {
    const { app, createRule, builds, queued } = await setup(t)
    const mine = await createRule({ provider, repo: 'https://git.example.com/team-a/app.git', build: { tags: ['a'] } })
    const theirs = await createRule({ provider, repo: 'https://git.example.com/team-b/payments.git', build: { tags: ['b'] } })
    const event =
      provider === 'github'
        ? gitHubPushPayload({ repoUrl: mine.repo, ref: 'refs/heads/main', after: COMMIT })
        : gitLabPushPayload({ repoUrl: mine.repo, ref: 'refs/heads/main', after: COMMIT })
    // Signed with team A's secret, naming A where the clone URL goes and B in the other fields.
    if ('repository' in event && provider === 'github') {
      Object.assign(event.repository, { html_url: 'https://git.example.com/team-b/payments', ssh_url: 'git@git.example.com:team-b/payments.git' })
    } else if ('project' in event) {
      Object.assign(event.project, { web_url: 'https://git.example.com/team-b/payments', git_ssh_url: 'git@git.example.com:team-b/payments.git' })
    }
    const deliveryId = randomUUID()
    const send = (secret: string) =>
      provider === 'github' ? sendGitHubEvent(app, { secret, body: event, deliveryId }) : sendGitLabEvent(app, { token: secret, body: event, deliveryId })
    const response = await send(mine.secret!)
    t.equal(response.statusCode, 202, response.body)
    const result = response.json<TriggerEventResult>()
    t.same(result.rules, [mine.id], 'only the rule whose secret signed the event')
    t.notOk(result.builds.some((build) => build.ruleId === theirs.id))

    const all = await builds()
    t.same(all.map((build) => build.request.repo), [mine.repo], "nothing of team B's repository was built")
    t.notOk(all.some((build) => build.createdBy?.id === theirs.id || build.request.labels[TRIGGER_LABEL] === theirs.id), "no build by B's rule")
    t.same(await queued(), all.map((build) => build.id).sort(), 'nothing queued but A\'s build')

    // Signed with B's secret, the same delivery is B's own: the id A's sender used first neither
    // blocks it nor answers it with A's builds.
    const signedByB = await send(theirs.secret!)
    t.equal(signedByB.statusCode, 202, signedByB.body)
    t.match(signedByB.json(), { status: 'started', rules: [theirs.id], builds: [{ ruleId: theirs.id }] })
  })
}

// A rule's builds run as the rule, not as a token: they may push only where the token that wrote
// the rule could, or a token that may not push somewhere could have a rule push there for it.
async function pushLimited (t: Test, overrides: Partial<Config>) {
  const context = await setup(t, overrides)
  const tokenWith = async (pushAllow?: string[]) => {
    const response = await context.app.inject({
      method: 'POST',
      url: '/v1/tokens',
      payload: { name: 'rule author', scopes: ['triggers:admin'], ...(pushAllow ? { pushAllow } : {}) }
    })
    return { authorization: `Bearer ${response.json<{ token: string }>().token}` }
  }
  const write = (headers: Record<string, string>, body: object, id?: string) =>
    context.app.inject({
      method: id ? 'PATCH' : 'POST',
      url: id ? `/v1/triggers/${id}` : '/v1/triggers',
      headers,
      payload: id ? body : { provider: 'github', repo: REPO, branches: ['main'], ...body }
    })
  return { ...context, tokenWith, write }
}

t.test('a rule cannot launder a push its author may not make', async (t) => {
  const { app, tokenWith, write, builds, queued, push } = await pushLimited(t, { pushAllow: 'localhost:5000/team-a/*' })
  const narrow = await tokenWith()
  const laundered = await write(narrow, { build: { image: 'localhost:5000/team-b/app' } })
  t.equal(laundered.statusCode, 403, laundered.body)
  t.equal(laundered.json().code, 'IMAGE_NOT_ALLOWED')
  t.match(laundered.json().message, /localhost:5000\/team-b\/app.*localhost:5000\/team-a\/\*.*SLIPWAY_PUSH_ALLOW/s)
  t.same((await app.inject({ method: 'GET', url: '/v1/triggers' })).json().items, [], 'no rule was made')

  const own = await write(narrow, { build: { image: 'localhost:5000/team-a/app' } })
  t.equal(own.statusCode, 201, own.body)
  t.match(own.json(), { pushAllow: ['localhost:5000/team-a/*'], pushAllowFrom: 'SLIPWAY_PUSH_ALLOW' }, "the author's patterns, and where they came from")
  const moved = await write(narrow, { build: { image: 'localhost:5000/team-b/app' } }, own.json().id)
  t.equal(moved.json().code, 'IMAGE_NOT_ALLOWED', 'nor can a change point a rule outside them')

  // A wider author's rule pushes where that author may; whoever changes it next becomes its
  // author, so a narrower token cannot even switch it off and on again.
  const wide = await tokenWith(['localhost:5000/**'])
  const wideRule = await write(wide, { build: { image: 'localhost:5000/team-b/app' } })
  t.equal(wideRule.statusCode, 201, wideRule.body)
  t.match(wideRule.json(), { pushAllow: ['localhost:5000/**'], pushAllowFrom: 'token' })
  const toggled = await write(narrow, { enabled: false }, wideRule.json().id)
  t.equal(toggled.json().code, 'IMAGE_NOT_ALLOWED')
  t.match((await app.inject({ method: 'GET', url: `/v1/triggers/${wideRule.json().id}` })).json(), { enabled: true, pushAllow: ['localhost:5000/**'] }, 'unchanged')

  const event = await sendGitHubEvent(app, { secret: wideRule.json().secret, body: push() })
  t.match(event.json(), { status: 'started', builds: [{ ruleId: wideRule.json().id }] }, "the wider author's rule builds")
  t.same(await queued(), (await builds()).map((build) => build.id))
})

t.test('narrowing SLIPWAY_PUSH_ALLOW narrows the rules written under it at once; the event says why nothing started', async (t) => {
  const { config, app, tokenWith, write, queued, push } = await pushLimited(t, { pushAllow: 'localhost:5000/**' })
  const rule = (await write(await tokenWith(), { build: { image: 'localhost:5000/team-b/app' } })).json<Trigger>()
  t.match(rule, { pushAllow: ['localhost:5000/**'], pushAllowFrom: 'SLIPWAY_PUSH_ALLOW' })

  const narrower = await buildApp(t, { ...config, pushAllow: 'localhost:5000/team-a/*' })
  const deliveryId = randomUUID()
  const event = await sendGitHubEvent(narrower, { secret: rule.secret!, body: push(), deliveryId })
  t.equal(event.statusCode, 202, event.body)
  const result = event.json<TriggerEventResult>()
  t.match(result, { status: 'ignored', builds: [], refused: [{ ruleId: rule.id, code: 'IMAGE_NOT_ALLOWED' }] })
  t.match(result.reason, /may not push/)
  t.match(result.refused[0]?.message, /localhost:5000\/team-b\/app.*team-a\/\*.*SLIPWAY_PUSH_ALLOW/s)
  t.same(await queued(), [], 'nothing queued')
  const widened = await sendGitHubEvent(app, { secret: rule.secret!, body: push(), deliveryId })
  t.match(widened.json(), { status: 'started', refused: [] }, 'a delivery that started nothing is not remembered: sent again where the setting allows, it builds')
})
