import { randomBytes } from 'node:crypto'
import { Redis } from 'ioredis'
import t from 'tap'
import { newBuildRecord } from '../../src/domain/builds/build-request.js'
import type { Actor } from '../../src/domain/schemas/audit.js'
import { keyringOf, open, parseSecretsKey, seal, SecretUnreadable, secretsKeyProblem, type Keyring } from '../../src/domain/secrets/secret-key.js'
import { loadBuildSecrets } from '../../src/storage/secrets.js'
import { createStorage } from '../../src/storage/storage.js'
import { testConfig } from '../helpers/config.js'
import { defaultRequest } from '../helpers/fixtures.js'
import { redisDump } from '../helpers/redis-keys.js'
import type { Teardown } from '../helpers/teardown.js'

const admin: Actor = { kind: 'token', id: 'admin', name: 'SLIPWAY_ADMIN_TOKEN', deliveryId: null }
const keyA = randomBytes(32)
const keyB = randomBytes(32)

function setup (t: Teardown) {
  const config = testConfig(t)
  const redis = new Redis(config.redisUrl)
  t.teardown(() => redis.quit())
  const storage = createStorage(redis, config)
  return { config, redis, storage }
}

t.test('keys: 32 bytes as base64 or hex, nothing else; a problem never echoes the value', async (t) => {
  const key = randomBytes(32)
  t.same(parseSecretsKey(key.toString('base64')), key)
  t.same(parseSecretsKey(key.toString('base64url')), key)
  t.same(parseSecretsKey(key.toString('hex')), key)
  for (const bad of ['short', randomBytes(16).toString('base64'), randomBytes(33).toString('base64'), 'z'.repeat(64)]) {
    t.equal(parseSecretsKey(bad), null, `refused: ${bad.length} characters`)
    const problem = secretsKeyProblem(bad)!
    t.match(problem, /openssl rand -base64 32/)
    t.notMatch(problem, bad)
  }
  t.equal(secretsKeyProblem(''), null, 'empty: no secrets, no problem')
})

t.test('attack: a ciphertext moved to another id (or kind) does not open', async (t) => {
  const keyring: Keyring = { current: keyA, previous: null }
  const sealed = seal(keyring, 'npm', 'secret', Buffer.from('npm-token-value'))
  t.equal(open(keyring, 'npm', 'secret', sealed).toString(), 'npm-token-value')
  t.throws(() => open(keyring, 'pypi', 'secret', sealed), SecretUnreadable, 'another id')
  t.throws(() => open(keyring, 'npm', 'ssh', sealed), SecretUnreadable, 'another kind')
  t.throws(() => open({ current: keyB, previous: null }, 'npm', 'secret', sealed), SecretUnreadable, 'another key')

  // The same in Redis: swapping two secrets' stored values makes both unreadable.
  const { redis, storage, config } = setup(t)
  const secrets = storage.secrets(keyring)
  await secrets.create({ id: 'one', kind: 'secret', value: Buffer.from('value-of-one'), repos: ['**'], tokens: [] }, admin)
  await secrets.create({ id: 'two', kind: 'secret', value: Buffer.from('value-of-two'), repos: ['**'], tokens: [] }, admin)
  const key = (id: string) => `${config.prefix}:secret:${id}`
  const [one, two] = await Promise.all([redis.hget(key('one'), 'sealed'), redis.hget(key('two'), 'sealed')])
  await redis.hset(key('one'), 'sealed', two!)
  await redis.hset(key('two'), 'sealed', one!)
  await t.rejects(secrets.reveal('one'), SecretUnreadable)
  await t.rejects(secrets.reveal('two'), SecretUnreadable)
})

t.test('values are encrypted at rest: a full Redis dump holds no value, nor the key', async (t) => {
  const { storage, config } = setup(t)
  const secrets = storage.secrets({ current: keyA, previous: null })
  const value = `plain-${randomBytes(12).toString('hex')}`
  await secrets.create({ id: 'npm', kind: 'secret', value: Buffer.from(value), repos: ['github.com/acme/*'], tokens: [] }, admin)
  await secrets.update('npm', { value: Buffer.from(`${value}-2`) }, admin)
  const dump = await redisDump(config)
  t.match(dump, 'secret:npm', 'the secret is there')
  for (const form of [value, Buffer.from(value).toString('base64'), Buffer.from(value).toString('hex'), keyA.toString('base64'), keyA.toString('hex')]) {
    t.notMatch(dump, form, 'not in the dump')
  }
  t.equal((await secrets.reveal('npm'))!.value.toString(), `${value}-2`)
})

t.test('rotation: written under A, read with B and A as previous, re-encrypted, then read with B alone', async (t) => {
  const { storage } = setup(t)
  const underA = storage.secrets({ current: keyA, previous: null })
  for (const id of ['a', 'b', 'c']) await underA.create({ id, kind: 'secret', value: Buffer.from(`value-${id}`), repos: ['**'], tokens: [] }, admin)

  const rotating = storage.secrets({ current: keyB, previous: keyA })
  t.equal((await rotating.reveal('a'))!.value.toString(), 'value-a', 'readable with A as the previous key')
  await rotating.update('c', { value: Buffer.from('value-c2') }, admin)
  const onlyB = storage.secrets({ current: keyB, previous: null })
  await t.rejects(onlyB.reveal('a'), SecretUnreadable, 'not yet with B alone')

  t.same(await rotating.reencrypt(admin), { total: 3, reencrypted: 2, current: 1, unreadable: [] })
  t.same(await rotating.reencrypt(admin), { total: 3, reencrypted: 0, current: 3, unreadable: [] }, 'safe to repeat')
  for (const [id, value] of [['a', 'value-a'], ['b', 'value-b'], ['c', 'value-c2']]) {
    t.equal((await onlyB.reveal(id!))!.value.toString(), value, `${id} with B alone`)
  }
  await t.rejects(underA.reveal('a'), SecretUnreadable, 'A alone no longer opens them')
  t.same((await underA.reencrypt(admin)).unreadable, ['a', 'b', 'c'], 'a key that opens none says which')
})

t.test('loadBuildSecrets checks again at the worker and opens only what the build may use', async (t) => {
  const { storage } = setup(t)
  const secrets = storage.secrets(keyringOf({ secretsKey: keyA.toString('base64'), secretsKeyPrevious: '' })!)
  const key = '-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END OPENSSH PRIVATE KEY-----\n'
  await secrets.create({ id: 'npm', kind: 'secret', value: Buffer.from('npm-token'), repos: ['git.example/acme/*'], tokens: ['ci'] }, admin)
  await secrets.create({ id: 'default', kind: 'ssh', value: Buffer.from(key), repos: ['git.example/acme/app'], tokens: [] }, admin)
  const ci: Actor = { kind: 'token', id: 'T1', name: 'ci', deliveryId: null }
  const build = (repo: string, actor: Actor | null, asked: { secrets?: string[]; ssh?: string[] }) => ({
    ...newBuildRecord('B', { ...defaultRequest(repo), secrets: asked.secrets ?? [], ssh: asked.ssh ?? [] }, new Date(), actor)
  })
  const deps = { secrets, triggers: storage.triggers }

  const loaded = await loadBuildSecrets(deps, build('https://git.example/acme/app.git', ci, { secrets: ['npm'], ssh: ['default'] }))
  t.same(Object.keys(loaded.secrets), ['npm'])
  t.equal(loaded.secrets.npm!.toString(), 'npm-token')
  t.equal(loaded.ssh.default!.toString(), key)
  t.same(await loadBuildSecrets({ secrets: null, triggers: storage.triggers }, build('https://git.example/acme/app.git', ci, {})), { secrets: {}, ssh: {} }, 'none asked, none needed')

  const refusals: [string, ReturnType<typeof build>][] = [
    ['another repository', build('https://git.example/other/app.git', ci, { secrets: ['npm'] })],
    ['another token', build('https://git.example/acme/app.git', { ...ci, id: 'T2', name: 'other' }, { secrets: ['npm'] })],
    ['an unknown id', build('https://git.example/acme/app.git', ci, { secrets: ['nope'] })],
    ['the wrong kind', build('https://git.example/acme/app.git', ci, { ssh: ['npm'] })]
  ]
  for (const [name, record] of refusals) {
    await t.rejects(loadBuildSecrets(deps, record), { code: 'SECRET_NOT_ALLOWED', statusCode: 403 }, name)
  }
  await t.rejects(loadBuildSecrets(deps, build('https://git.example/acme/app.git', ci, { secrets: ['nope'] })), { message: /secret 'nope'/ }, 'names the id')

  await secrets.update('npm', { repos: ['git.example/other/*'] }, admin)
  await t.rejects(loadBuildSecrets(deps, build('https://git.example/acme/app.git', ci, { secrets: ['npm'] })), { code: 'SECRET_NOT_ALLOWED' }, 'narrowed after the build was queued')
  await secrets.remove('default', admin)
  await t.rejects(loadBuildSecrets(deps, build('https://git.example/acme/app.git', ci, { ssh: ['default'] })), { code: 'SECRET_NOT_ALLOWED' }, 'deleted after')
})
