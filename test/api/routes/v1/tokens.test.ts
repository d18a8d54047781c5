import t from 'tap'
import { buildApp } from '../../../helpers/app.js'
import { testConfig } from '../../../helpers/config.js'
import { redisDump } from '../../../helpers/redis-keys.js'

const bearer = (token: string) => ({ authorization: `Bearer ${token}` })

t.test('401 for no, malformed, unknown and revoked tokens; 403 for a token without the scope', async (t) => {
  const config = testConfig(t)
  const app = await buildApp(t, config)
  const made = await app.inject({ method: 'POST', url: '/v1/tokens', payload: { name: 'ci-readonly', scopes: ['builds:read'] } })
  t.equal(made.statusCode, 201)
  const { id, token } = made.json<{ id: string; token: string }>()
  t.match(token, /^slw_[A-Za-z0-9_-]{43}$/)

  const cases: [string, Record<string, string>, number, string][] = [
    ['no token', { authorization: '' }, 401, 'UNAUTHENTICATED'],
    ['not a bearer', { authorization: `Basic ${Buffer.from('a:b').toString('base64')}` }, 401, 'UNAUTHENTICATED'],
    ['unknown token', bearer('slw_not-a-real-token'), 401, 'UNAUTHENTICATED'],
    ['read token, GET', bearer(token), 200, ''],
    ['admin token', {}, 200, '']
  ]
  for (const [name, headers, status, code] of cases) {
    const response = await app.inject({ method: 'GET', url: '/v1/builds', headers })
    t.equal(response.statusCode, status, name)
    if (code) {
      t.equal(response.json().code, code, name)
      t.equal(response.headers['www-authenticate'], 'Bearer realm="slipway"', `${name}: says how to authenticate`)
    }
  }
  const write = await app.inject({ method: 'POST', url: '/v1/builds', headers: bearer(token), payload: { repo: 'https://h/x' } })
  t.equal(write.statusCode, 403)
  t.equal(write.json().code, 'FORBIDDEN')
  t.match(write.json().message, /lacks the scope 'builds:write' that POST \/v1\/builds needs/)
  t.equal((await app.inject({ method: 'GET', url: '/v1/webhooks', headers: bearer(token) })).statusCode, 403)
  t.equal((await app.inject({ method: 'GET', url: '/v1/tokens', headers: bearer(token) })).statusCode, 403, 'only admins see tokens')

  const listed = (await app.inject({ method: 'GET', url: '/v1/tokens' })).json<{ items: object[] }>()
  const createdBy = { kind: 'token', id: 'admin', name: 'SLIPWAY_ADMIN_TOKEN', deliveryId: null }
  t.same(listed.items, [{ id, name: 'ci-readonly', scopes: ['builds:read'], pushAllow: null, createdAt: made.json().createdAt, createdBy }], 'listed without the token')
  t.equal((await app.inject({ method: 'DELETE', url: `/v1/tokens/${id}` })).statusCode, 204)
  t.equal((await app.inject({ method: 'GET', url: '/v1/builds', headers: bearer(token) })).statusCode, 401, 'revoked at once')
  t.equal((await app.inject({ method: 'DELETE', url: `/v1/tokens/${id}` })).json().code, 'TOKEN_NOT_FOUND')

  for (const url of ['/healthz', '/readyz', '/openapi.json', '/docs/']) {
    t.equal((await app.inject({ method: 'GET', url, headers: { authorization: '' } })).statusCode, 200, `${url} needs no token`)
  }
})

t.test('tokens are kept only as hashes: nothing in Redis holds one', async (t) => {
  const config = testConfig(t)
  const app = await buildApp(t, config)
  const { token } = (await app.inject({ method: 'POST', url: '/v1/tokens', payload: { name: 'x', scopes: ['admin'] } })).json<{ token: string }>()
  await app.inject({ method: 'POST', url: '/v1/builds', headers: bearer(token), payload: { repo: 'https://h/x' } })
  const dump = await redisDump(config)
  t.ok(dump.length > 0)
  t.notMatch(dump, token.slice(4), 'no key or value holds the token')
  t.notMatch(dump, config.adminToken, 'nor the admin token')
})

t.test('a rate limit per token: 429 with Retry-After past it, other tokens unaffected', async (t) => {
  const config = testConfig(t, { rateLimitPerMinute: 3 })
  const app = await buildApp(t, config)
  const other = (await app.inject({ method: 'POST', url: '/v1/tokens', payload: { name: 'other', scopes: ['builds:read'] } })).json<{ token: string }>()
  const answers = []
  for (let i = 0; i < 4; i++) answers.push(await app.inject({ method: 'GET', url: '/v1/builds' }))
  t.same(answers.map((a) => a.statusCode), [200, 200, 429, 429], 'the admin token had spent one of its 3 making the other token')
  t.equal(answers[2]!.json().code, 'RATE_LIMITED')
  t.match(answers[2]!.headers['retry-after'], /^\d+$/)
  t.equal((await app.inject({ method: 'GET', url: '/v1/builds', headers: bearer(other.token) })).statusCode, 200)
})

t.test('GET /v1/tokens/self: any token learns about itself, and only itself', async (t) => {
  const config = testConfig(t)
  const app = await buildApp(t, config)
  const make = async (name: string, scopes: string[], pushAllow?: string[]) => {
    const made = await app.inject({ method: 'POST', url: '/v1/tokens', payload: { name, scopes, ...(pushAllow ? { pushAllow } : {}) } })
    t.equal(made.statusCode, 201)
    return made.json<{ id: string; token: string; createdAt: string }>()
  }
  const reader = await make('ci-read', ['builds:read'])
  const writer = await make('ci-main', ['builds:read', 'builds:write'], ['registry.example.com/team-a/*'])
  const hooks = await make('hooks', ['webhooks:admin'])

  const self = async (headers: Record<string, string>) => app.inject({ method: 'GET', url: '/v1/tokens/self', headers })
  const read = await self(bearer(reader.token))
  t.equal(read.statusCode, 200)
  t.same(read.json(), { id: reader.id, name: 'ci-read', scopes: ['builds:read'], pushAllow: null, expiresAt: null, createdAt: reader.createdAt }, 'a read-only token')
  t.same((await self(bearer(writer.token))).json(), {
    id: writer.id,
    name: 'ci-main',
    scopes: ['builds:read', 'builds:write'],
    pushAllow: ['registry.example.com/team-a/*'],
    expiresAt: null,
    createdAt: writer.createdAt
  }, 'a read-write token, with its push patterns')
  t.equal((await self(bearer(hooks.token))).json().name, 'hooks', 'a token without any builds scope may ask too')
  t.same((await self({})).json(), { id: 'admin', name: 'SLIPWAY_ADMIN_TOKEN', scopes: ['admin'], pushAllow: null, expiresAt: null, createdAt: null }, 'the admin token answers as itself')

  for (const answer of [read, await self(bearer(writer.token))]) {
    t.notMatch(answer.body, /slw_/, 'never a token')
    t.notMatch(answer.body, /[0-9a-f]{64}/, 'nor a hash')
  }
  t.notMatch(read.body, writer.id, 'nor another token')

  for (const [name, headers] of [['no token', { authorization: '' }], ['unknown token', bearer('slw_not-a-real-token')]] as const) {
    const refused = await self(headers)
    t.equal(refused.statusCode, 401, name)
    t.equal(refused.json().code, 'UNAUTHENTICATED', name)
  }
  t.equal((await app.inject({ method: 'DELETE', url: `/v1/tokens/${reader.id}` })).statusCode, 204)
  t.equal((await self(bearer(reader.token))).statusCode, 401, 'a revoked token is no longer anyone')
})
