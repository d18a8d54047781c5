import { randomBytes } from 'node:crypto'
import { Writable } from 'node:stream'
import { Queue } from 'bullmq'
import { pino } from 'pino'
import t, { type Test } from 'tap'
import type { Config } from '../../../../src/domain/config.js'
import type { Build } from '../../../../src/domain/schemas/build.js'
import type { Secret } from '../../../../src/domain/schemas/secret.js'
import type { Trigger, TriggerEventResult } from '../../../../src/domain/schemas/trigger.js'
import { loadBuildSecrets } from '../../../../src/storage/secrets.js'
import { buildApp } from '../../../helpers/app.js'
import { testConfig } from '../../../helpers/config.js'
import { gitHubPushPayload, sendGitHubEvent } from '../../../helpers/push-events.js'
import { redisDump } from '../../../helpers/redis-keys.js'
import { tarGz } from '../../../helpers/tarball.js'

// The API alone, on real Redis and without a worker: secrets are held and listed without their
// values, and builds that name secrets are checked against them before anything is stored.

const REPO = 'https://git.example/acme/app.git'
const OTHER_REPO = 'https://git.example/other/app.git'
const SSH_KEY = '-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ\n-----END OPENSSH PRIVATE KEY-----\n'
const bearer = (token: string) => ({ authorization: `Bearer ${token}` })

async function setup (t: Test, overrides: Partial<Config> = {}) {
  const config = testConfig(t, { secretsKey: randomBytes(32).toString('base64'), ...overrides })
  const app = await buildApp(t, config)
  const token = async (name: string, scopes: string[]) =>
    (await app.inject({ method: 'POST', url: '/v1/tokens', payload: { name, scopes } })).json<{ id: string; token: string }>()
  const createSecret = (payload: object, headers: Record<string, string> = {}) => app.inject({ method: 'POST', url: '/v1/secrets', payload, headers })
  const submit = (payload: object, headers: Record<string, string> = {}) => app.inject({ method: 'POST', url: '/v1/builds', payload, headers })
  return { config, app, token, createSecret, submit }
}

t.test('without SLIPWAY_SECRETS_KEY every secrets route answers 503 SECRETS_DISABLED, saying how to set one', async (t) => {
  const { app, submit } = await setup(t, { secretsKey: '' })
  const routes: [string, string, object?][] = [
    ['POST', '/v1/secrets', { id: 'npm', value: 'x', repos: ['**'] }],
    ['POST', '/v1/secrets', { not: 'even valid' }],
    ['GET', '/v1/secrets'],
    ['GET', '/v1/secrets/npm'],
    ['PATCH', '/v1/secrets/npm', { value: 'y' }],
    ['DELETE', '/v1/secrets/npm'],
    ['POST', '/v1/secrets/reencrypt']
  ]
  for (const [method, url, payload] of routes) {
    const response = await app.inject({ method: method as 'GET', url, ...(payload ? { payload } : {}) })
    t.equal(response.statusCode, 503, `${method} ${url}`)
    t.equal(response.json().code, 'SECRETS_DISABLED')
    t.match(response.json().message, /SLIPWAY_SECRETS_KEY.*openssl rand -base64 32/)
  }
  const build = await submit({ repo: REPO, secrets: ['npm'] })
  t.equal(build.statusCode, 503, 'a build naming a secret')
  t.equal(build.json().code, 'SECRETS_DISABLED')
  t.equal((await submit({ repo: REPO })).statusCode, 202, 'builds without secrets are unaffected')
})

t.test('create, list, get, change and delete: the value goes in and never comes out', async (t) => {
  const { app, config, createSecret } = await setup(t)
  const value = `npm-${randomBytes(12).toString('hex')}`
  const made = await createSecret({ id: 'npm', value, repos: ['git.example/acme/*'], tokens: ['ci'] })
  t.equal(made.statusCode, 201)
  t.equal(made.headers.location, '/v1/secrets/npm')
  const createdBy = { kind: 'token', id: 'admin', name: 'SLIPWAY_ADMIN_TOKEN', deliveryId: null }
  t.match(made.json(), { id: 'npm', kind: 'secret', repos: ['git.example/acme/*'], tokens: ['ci'], sizeBytes: value.length, createdBy, updatedBy: createdBy })
  t.notOk('value' in made.json(), 'no value in the answer')

  const key = await createSecret({ id: 'default', kind: 'ssh', value: Buffer.from(SSH_KEY).toString('base64'), encoding: 'base64', repos: [REPO] })
  t.equal(key.statusCode, 201)
  t.equal(key.json<Secret>().sizeBytes, SSH_KEY.length, 'base64 decoded')

  const list = await app.inject({ method: 'GET', url: '/v1/secrets' })
  t.same(list.json<{ items: Secret[] }>().items.map((secret) => secret.id), ['default', 'npm'])
  t.same((await app.inject({ method: 'GET', url: '/v1/secrets/npm' })).json(), made.json())

  const changed = await app.inject({ method: 'PATCH', url: '/v1/secrets/npm', payload: { value: `${value}-new`, tokens: [] } })
  t.equal(changed.statusCode, 200)
  t.match(changed.json(), { id: 'npm', tokens: [], repos: ['git.example/acme/*'], sizeBytes: value.length + 4 })
  t.ok(changed.json<Secret>().updatedAt >= made.json<Secret>().updatedAt)

  const audit = (await app.inject({ method: 'GET', url: '/v1/audit?kind=secret' })).json<{ items: { action: string; resourceId: string; summary: string }[] }>()
  t.same(audit.items.map((entry) => `${entry.action} ${entry.resourceId}`), ['secret.update npm', 'secret.create default', 'secret.create npm'], 'each change in the audit trail')

  const answers = [made, key, list, changed].map((response) => response.body).join('\n') + JSON.stringify(audit)
  for (const form of [value, Buffer.from(value).toString('base64'), 'OPENSSH PRIVATE KEY']) t.notMatch(answers, form, 'no answer or audit entry holds a value')
  const dump = await redisDump(config)
  for (const form of [value, `${value}-new`, Buffer.from(value).toString('base64'), 'b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ', config.secretsKey]) t.notMatch(dump, form, 'nor Redis')

  t.equal((await app.inject({ method: 'DELETE', url: '/v1/secrets/npm' })).statusCode, 204)
  t.equal((await app.inject({ method: 'GET', url: '/v1/secrets/npm' })).json().code, 'SECRET_NOT_FOUND')
  t.equal((await app.inject({ method: 'DELETE', url: '/v1/secrets/npm' })).json().code, 'SECRET_NOT_FOUND')
  t.equal((await app.inject({ method: 'PATCH', url: '/v1/secrets/npm', payload: { tokens: [] } })).json().code, 'SECRET_NOT_FOUND')
  const deleted = (await app.inject({ method: 'GET', url: '/v1/audit?kind=secret&limit=1' })).json<{ items: { action: string }[] }>()
  t.equal(deleted.items[0]!.action, 'secret.delete')
})

t.test('every refusal is a 4xx with a code and a message that never echoes the value', async (t) => {
  const { app, createSecret, token } = await setup(t)
  await createSecret({ id: 'npm', value: 'v', repos: ['**'] })
  const reader = await token('reader', ['builds:write'])
  const cases: [string, () => ReturnType<typeof createSecret>, number, string, RegExp?][] = [
    ['taken id', () => createSecret({ id: 'npm', value: 'v', repos: ['**'] }), 409, 'SECRET_EXISTS', /PATCH \/v1\/secrets\/npm/],
    ['bad id', () => createSecret({ id: 'no spaces', value: 'v', repos: ['**'] }), 400, 'VALIDATION_FAILED'],
    ['no repos', () => createSecret({ id: 'x', value: 'v' }), 400, 'VALIDATION_FAILED'],
    ['ssh that is no key', () => createSecret({ id: 'k', kind: 'ssh', value: 'hunter2-not-a-key', repos: ['**'] }), 400, 'SECRET_VALUE_INVALID', /private key/],
    ['bad base64', () => createSecret({ id: 'b', value: 'hunter2!', encoding: 'base64', repos: ['**'] }), 400, 'SECRET_VALUE_INVALID', /base64/],
    ['empty base64', () => createSecret({ id: 'b', value: '====', encoding: 'base64', repos: ['**'] }), 400, 'SECRET_VALUE_INVALID'],
    ['bad pattern', () => createSecret({ id: 'p', value: 'v', repos: ['git.example'] }), 400, 'SECRET_REPO_PATTERN_INVALID', /names no repository path/],
    ['without the scope', () => createSecret({ id: 'y', value: 'v', repos: ['**'] }, bearer(reader.token)), 403, 'FORBIDDEN', /secrets:admin/],
    ['empty change', () => app.inject({ method: 'PATCH', url: '/v1/secrets/npm', payload: {} }), 400, 'VALIDATION_FAILED'],
    ['an id no Dockerfile could name', () => app.inject({ method: 'GET', url: '/v1/secrets/a:b*' }), 400, 'VALIDATION_FAILED'],
    ['a value that is not text', () => createSecret({ id: 'n', value: 42, repos: ['**'] }), 400, 'VALIDATION_FAILED']
  ]
  for (const [name, send, status, code, message] of cases) {
    const response = await send()
    t.equal(response.statusCode, status, name)
    t.equal(response.json().code, code, name)
    if (message) t.match(response.json().message, message, name)
    t.notMatch(response.body, 'hunter2', `${name}: the value is not echoed`)
  }
  const admin = await token('secrets-admin', ['secrets:admin'])
  t.equal((await app.inject({ method: 'GET', url: '/v1/secrets', headers: bearer(admin.token) })).statusCode, 200, 'secrets:admin may')
  t.equal((await app.inject({ method: 'POST', url: '/v1/secrets/reencrypt', headers: bearer(admin.token) })).statusCode, 403, 'rotation needs admin')
  const rotated = await app.inject({ method: 'POST', url: '/v1/secrets/reencrypt' })
  t.same(rotated.json(), { total: 1, reencrypted: 0, current: 1, unreadable: [] })
})

t.test('builds name secrets by id: SECRET_NOT_ALLOWED for what their repository or token may not use, or what does not exist', async (t) => {
  const { app, config, createSecret, submit, token } = await setup(t)
  const ci = await token('ci', ['builds:write', 'builds:read'])
  const other = await token('other', ['builds:write'])
  const value = `v-${randomBytes(8).toString('hex')}`
  await createSecret({ id: 'npm', value, repos: ['git.example/acme/*'], tokens: ['ci'] })
  await createSecret({ id: 'open', value: 'for-anyone', repos: ['**'] })
  await createSecret({ id: 'default', kind: 'ssh', value: SSH_KEY, repos: ['git.example/acme/app'] })

  const refusals: [string, object, Record<string, string>, RegExp][] = [
    ["another repository's secret", { repo: OTHER_REPO, secrets: ['npm'] }, bearer(ci.token), /secret 'npm'.*repository https:\/\/git.example\/other\/app.git.*token 'ci'/],
    ['an unknown id', { repo: REPO, secrets: ['nope'] }, bearer(ci.token), /secret 'nope'/],
    ['the wrong token', { repo: REPO, secrets: ['npm'] }, bearer(other.token), /secret 'npm'.*token 'other'/],
    ['a secret asked for as an SSH key', { repo: REPO, ssh: ['npm'] }, bearer(ci.token), /SSH key 'npm'/],
    ['an SSH key asked for as a secret', { repo: REPO, secrets: ['default'] }, bearer(ci.token), /secret 'default'/]
  ]
  for (const [name, body, headers, message] of refusals) {
    const response = await submit(body, headers)
    t.equal(response.statusCode, 403, name)
    t.equal(response.json().code, 'SECRET_NOT_ALLOWED', name)
    t.match(response.json().message, message, name)
    t.match(response.json().message, /Ask an admin/, name)
  }
  const unknown = (await submit({ repo: REPO, secrets: ['nope'] }, bearer(ci.token))).json().message
  const foreign = (await submit({ repo: REPO, secrets: ['npm'] }, bearer(other.token))).json().message
  t.equal(unknown.replace(/nope/g, 'ID'), foreign.replace(/npm/g, 'ID').replace("'other'", "'ci'"), 'an id that does not exist is answered as one not allowed')

  const classic = await submit({ repo: REPO, secrets: ['npm'], builder: 'classic' }, bearer(ci.token))
  t.equal(classic.statusCode, 400)
  t.equal(classic.json().code, 'SECRETS_NEED_BUILDKIT')
  t.match(classic.json().message, /secrets \(npm\) with `builder: classic`/)
  t.equal((await submit({ repo: REPO, ssh: ['default'], builder: 'classic' })).json().code, 'SECRETS_NEED_BUILDKIT')

  const accepted = await submit({ repo: REPO, secrets: ['npm', 'open'], ssh: ['default'] }, bearer(ci.token))
  t.equal(accepted.statusCode, 202)
  const build = accepted.json<Build>()
  t.same([build.request.secrets, build.request.ssh], [['npm', 'open'], ['default']], 'the build keeps the ids')
  const plain = (await submit({ repo: REPO })).json<Build>()
  t.same([plain.request.secrets, plain.request.ssh], [[], []])

  const queue = new Queue('builds', { connection: { url: config.redisUrl }, prefix: config.prefix })
  t.teardown(() => queue.close())
  const job = await queue.getJob(build.id)
  t.ok(job, 'queued')
  const stored = JSON.stringify([job!.data, (await app.inject({ method: 'GET', url: `/v1/builds/${build.id}` })).json(), await app.inject({ method: 'GET', url: '/v1/audit' }).then((r) => r.json())])
  for (const form of [value, 'for-anyone', 'OPENSSH']) t.notMatch(stored, form, 'no value in the job, the record or the audit trail')
  const dump = await redisDump(config)
  for (const form of [value, 'for-anyone', Buffer.from(value).toString('base64')]) t.notMatch(dump, form, 'nor anywhere in Redis')
})

t.test('uploads have no repository: they may use only secrets that name their token', async (t) => {
  const { app, createSecret, token } = await setup(t)
  const ci = await token('ci', ['builds:write'])
  await createSecret({ id: 'by-token', value: 'v', repos: [], tokens: [ci.id] })
  await createSecret({ id: 'by-repo', value: 'v', repos: ['**'] })
  const tar = await tarGz([{ name: 'Dockerfile', content: 'FROM scratch\n' }])
  const upload = (options: object, headers: Record<string, string>) =>
    app.inject({ method: 'POST', url: `/v1/builds?options=${encodeURIComponent(JSON.stringify(options))}`, headers: { 'content-type': 'application/gzip', ...headers }, payload: tar })
  const refused = await upload({ secrets: ['by-repo'] }, bearer(ci.token))
  t.equal(refused.statusCode, 403)
  t.equal(refused.json().code, 'SECRET_NOT_ALLOWED')
  t.match(refused.json().message, /an upload/)
  t.equal((await upload({ secrets: ['by-token'] }, {})).json().code, 'SECRET_NOT_ALLOWED', 'another token, even the admin')
  const accepted = await upload({ secrets: ['by-token'] }, bearer(ci.token))
  t.equal(accepted.statusCode, 202)
  t.same(accepted.json<Build>().request.secrets, ['by-token'])
  t.equal((await upload({ secrets: ['by-token'], builder: 'classic' }, bearer(ci.token))).json().code, 'SECRETS_NEED_BUILDKIT')
})

t.test('retries are checked as the retrying token', async (t) => {
  const { app, createSecret, submit, token } = await setup(t)
  const ci = await token('ci', ['builds:write'])
  const other = await token('other', ['builds:write'])
  await createSecret({ id: 'npm', value: 'v', repos: ['**'], tokens: ['ci'] })
  const build = (await submit({ repo: REPO, secrets: ['npm'] }, bearer(ci.token))).json<Build>()
  await app.inject({ method: 'POST', url: `/v1/builds/${build.id}/cancel`, headers: bearer(ci.token) })
  const retried = await app.inject({ method: 'POST', url: `/v1/builds/${build.id}/retry`, headers: bearer(other.token) })
  t.equal(retried.statusCode, 403)
  t.equal(retried.json().code, 'SECRET_NOT_ALLOWED')
  t.equal((await app.inject({ method: 'POST', url: `/v1/builds/${build.id}/retry`, headers: bearer(ci.token) })).statusCode, 202)
})

t.test('trigger rules name secrets: checked as the token that writes the rule, when it is written and when a push fires it', async (t) => {
  const { app, createSecret, token } = await setup(t)
  const writer = await token('rules', ['triggers:admin'])
  await createSecret({ id: 'npm', value: 'v', repos: ['github.com/acme/app'], tokens: ['rules'] })
  const rule = (build: object, headers: Record<string, string> = bearer(writer.token)) =>
    app.inject({ method: 'POST', url: '/v1/triggers', headers, payload: { provider: 'github', repo: 'https://github.com/acme/app.git', branches: ['main'], build } })
  const unknown = await rule({ secrets: ['nope'] })
  t.equal(unknown.statusCode, 403)
  t.equal(unknown.json().code, 'SECRET_NOT_ALLOWED')
  t.equal((await rule({ secrets: ['npm'] }, {})).json().code, 'SECRET_NOT_ALLOWED', 'the admin token is not among its tokens')
  t.equal((await rule({ secrets: ['npm'], builder: 'classic' })).json().code, 'SECRETS_NEED_BUILDKIT')
  const made = await rule({ secrets: ['npm'] })
  t.equal(made.statusCode, 201)
  const trigger = made.json<Trigger>()
  t.same(trigger.build.secrets, ['npm'])
  t.notOk('author' in trigger, 'the author is kept, not shown')
  const changed = await app.inject({ method: 'PATCH', url: `/v1/triggers/${trigger.id}`, payload: { build: { ssh: ['default'] } } })
  t.equal(changed.json().code, 'SECRET_NOT_ALLOWED', 'a change is checked too')

  const push = () => sendGitHubEvent(app, { secret: trigger.secret!, body: gitHubPushPayload({ repoUrl: 'https://github.com/acme/app.git', ref: 'refs/heads/main', after: randomBytes(20).toString('hex') }) })
  const started = (await push()).json<TriggerEventResult>()
  t.equal(started.status, 'started')
  const build = (await app.inject({ method: 'GET', url: `/v1/builds/${started.builds[0]!.id}` })).json<Build>()
  t.same(build.request.secrets, ['npm'])
  // The worker's check: the rule's build uses secrets as the token that wrote the rule.
  const record = (await app.storage.builds.get(build.id))!
  const workerDeps = { secrets: app.secrets, triggers: app.storage.triggers }
  t.equal((await loadBuildSecrets(workerDeps, record)).secrets.npm!.toString(), 'v', 'the worker opens it for the rule\'s build')

  await app.inject({ method: 'PATCH', url: '/v1/secrets/npm', payload: { tokens: ['someone-else'] } })
  await t.rejects(loadBuildSecrets(workerDeps, record), { code: 'SECRET_NOT_ALLOWED' }, 'and refuses it once the secret is narrowed')
  const refused = (await push()).json<TriggerEventResult>()
  t.equal(refused.status, 'ignored')
  t.same(refused.refused.map((entry) => entry.code), ['SECRET_NOT_ALLOWED'], 'a push fired after the secret was narrowed starts nothing')
})

t.test("the service's own log never holds a value nor the key, at any level", async (t) => {
  let log = ''
  const sink = new Writable({ write (chunk: Buffer, _encoding, done) { log += chunk.toString(); done() } })
  const config = testConfig(t, { secretsKey: randomBytes(32).toString('base64'), logLevel: 'trace' })
  const app = await buildApp(t, config, { logger: pino({ level: 'trace' }, sink) })
  const value = `v-${randomBytes(10).toString('hex')}`
  await app.inject({ method: 'POST', url: '/v1/secrets', payload: { id: 'npm', value, repos: ['**'] } })
  await app.inject({ method: 'PATCH', url: '/v1/secrets/npm', payload: { value: `${value}-2` } })
  await app.inject({ method: 'POST', url: '/v1/secrets', payload: { id: 'k', kind: 'ssh', value, repos: ['**'] } })
  await app.inject({ method: 'POST', url: '/v1/secrets', payload: { id: 'npm', value, repos: ['**'] } })
  await app.inject({ method: 'POST', url: '/v1/secrets/reencrypt' })
  await app.inject({ method: 'POST', url: '/v1/builds', payload: { repo: REPO, secrets: ['npm'] } })
  t.match(log, /request completed/, 'requests were logged')
  for (const form of [value, Buffer.from(value).toString('base64'), config.secretsKey]) t.notMatch(log, form)
})
