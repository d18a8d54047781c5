import { randomBytes } from 'node:crypto'
import t, { type Test } from 'tap'
import type { Config } from '../../../../src/domain/config.js'
import type { Build } from '../../../../src/domain/schemas/build.js'
import { buildApp } from '../../../helpers/app.js'
import { testConfig } from '../../../helpers/config.js'
import { redisDump } from '../../../helpers/redis-keys.js'
import { tarGz } from '../../../helpers/tarball.js'

// The API alone, on real Redis and without a worker: a build's `report` names a stored secret
// holding the forge token, checked as the build's own secrets are; the token itself is never in
// a request, a build or Redis in clear.

const REPO = 'https://github.com/acme/app.git'
const FORGE_TOKEN = `ghp_${randomBytes(18).toString('hex')}`

async function setup (t: Test, overrides: Partial<Config> = {}) {
  const config = testConfig(t, { secretsKey: randomBytes(32).toString('base64'), ...overrides })
  const app = await buildApp(t, config)
  const submit = (payload: object, headers: Record<string, string> = {}) => app.inject({ method: 'POST', url: '/v1/builds', payload, headers })
  const createSecret = (payload: object) => app.inject({ method: 'POST', url: '/v1/secrets', payload })
  return { config, app, submit, createSecret }
}

t.test('a report names the secret holding the token; the build shows where it reports, with its defaults', async (t) => {
  const { config, submit, createSecret } = await setup(t)
  t.equal((await createSecret({ id: 'github-status', value: FORGE_TOKEN, repos: ['github.com/acme/*'] })).statusCode, 201)
  const response = await submit({ repo: REPO, ref: 'a'.repeat(40), report: { provider: 'github', token: 'github-status' } })
  t.equal(response.statusCode, 202, response.body)
  t.same(response.json<Build>().request.report, { provider: 'github', repo: 'acme/app', token: 'github-status', context: 'slipway' }, "the repository's path on GitHub, and the default context")
  const named = await submit({ repo: 'git@github.com:acme/app.git', report: { provider: 'gitlab', repo: 'acme/sub/app', token: 'github-status', context: 'slipway/api' } })
  t.match(named.json<Build>().request.report, { provider: 'gitlab', repo: 'acme/sub/app', context: 'slipway/api' })
  const dump = await redisDump(config)
  t.notMatch(dump, FORGE_TOKEN, 'the token is nowhere in Redis in clear')
})

t.test('a report is refused, with a code and what to do, when it cannot be sent', async (t) => {
  const { submit, createSecret } = await setup(t)
  await createSecret({ id: 'status', value: FORGE_TOKEN, repos: ['github.com/acme/app'] })
  const refusal = async (payload: object) => {
    const response = await submit(payload)
    return { statusCode: response.statusCode, ...response.json<{ code: string; message: string }>() }
  }
  t.match(await refusal({ repo: 'https://github.com/other/app.git', report: { provider: 'github', token: 'status' } }), { statusCode: 403, code: 'SECRET_NOT_ALLOWED' }, "a secret that does not allow the build's repository")
  t.match(await refusal({ repo: REPO, report: { provider: 'github', token: 'missing' } }), { statusCode: 403, code: 'SECRET_NOT_ALLOWED' }, 'a secret that does not exist, told as one not allowed')
  const raw = await refusal({ repo: REPO, report: { provider: 'github', token: FORGE_TOKEN } })
  t.match(raw, { statusCode: 400, code: 'REPORT_TOKEN_NOT_AN_ID', message: /takes the id of a secret/ }, 'a token sent in clear is refused')
  t.notMatch(raw.message, FORGE_TOKEN, 'and not echoed')
  t.match(await refusal({ repo: REPO, report: { provider: 'gitlab', token: 'glpat-abcdefghijklmnopqrst' } }), { code: 'REPORT_TOKEN_NOT_AN_ID' })
  t.match(await refusal({ repo: 'https://gitlab.example/a/b/c.git', report: { provider: 'github', token: 'status' } }), {
    statusCode: 400,
    code: 'REPORT_REPO_INVALID',
    message: /'a\/b\/c' is not a GitHub repository path \(owner\/name\); set report.repo/
  })
  t.match(await refusal({ repo: '/srv/git/app', report: { provider: 'gitlab', token: 'status' } }), { statusCode: 400, code: 'REPORT_REPO_INVALID', message: /name the repository to report to as report.repo/ })
  t.match(await refusal({ repo: REPO, report: { provider: 'github', repo: '../x', token: 'status' } }), { statusCode: 400 })
})

t.test('without SLIPWAY_SECRETS_KEY there is nowhere to hold the token: 503 SECRETS_DISABLED', async (t) => {
  const { submit } = await setup(t, { secretsKey: '' })
  const response = await submit({ repo: REPO, report: { provider: 'github', token: 'status' } })
  t.equal(response.statusCode, 503)
  t.equal(response.json().code, 'SECRETS_DISABLED')
})

t.test('an upload has no commit on a forge: its options take no report', async (t) => {
  const { app, createSecret } = await setup(t)
  await createSecret({ id: 'status', value: FORGE_TOKEN, repos: ['**'] })
  const body = await tarGz([{ name: 'Dockerfile', content: 'FROM busybox\n' }])
  const options = { report: { provider: 'github', repo: 'acme/app', token: 'status' } }
  const response = await app.inject({ method: 'POST', url: `/v1/builds?options=${encodeURIComponent(JSON.stringify(options))}`, headers: { 'content-type': 'application/gzip' }, payload: body })
  t.equal(response.statusCode, 400, response.body)
  t.match(response.json().message, /report/)
})
