import { randomBytes } from 'node:crypto'
import { writeFile } from 'node:fs/promises'
import path from 'node:path'
import t from 'tap'
import { EXIT } from '../../src/cli/exit-codes.js'
import type { Build } from '../../src/domain/schemas/build.js'
import type { Secret } from '../../src/domain/schemas/secret.js'
import { buildApp } from '../helpers/app.js'
import { compiledCli, runCli } from '../helpers/cli.js'
import { TEST_ADMIN_TOKEN, testConfig } from '../helpers/config.js'
import { tempFolder } from '../helpers/files.js'

// `slipway secret` and `slipway submit --secret/--ssh`, the compiled command against the API
// (no worker: the builds only need to be accepted or refused).

const BIN = await compiledCli()
const run = (env: Record<string, string>, args: string[], stdin?: string) => runCli(BIN, env, args, stdin)

const config = testConfig(t, { secretsKey: randomBytes(32).toString('hex') })
const app = await buildApp(t, config)
const url = await app.listen({ port: 0, host: '127.0.0.1' })
const admin = { SLIPWAY_URL: url, SLIPWAY_TOKEN: TEST_ADMIN_TOKEN }

t.test('secret create from a file and from stdin, list, delete; the value never printed', async (t) => {
  const folder = await tempFolder(t)
  const file = path.join(folder, 'npm-token')
  const value = `npm_${randomBytes(10).toString('hex')}`
  await writeFile(file, value)
  const made = await run(admin, ['secret', 'create', 'npm', '--from-file', file, '--repo', 'git.example/acme/*', '--token', 'ci', '--json'])
  t.equal(made.code, EXIT.ok, made.stderr)
  t.match(JSON.parse(made.stdout), { id: 'npm', kind: 'secret', repos: ['git.example/acme/*'], tokens: ['ci'], sizeBytes: value.length })

  const key = '-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n-----END OPENSSH PRIVATE KEY-----\n'
  const fromStdin = await run(admin, ['secret', 'create', 'default', '--kind', 'ssh', '--from-file', '-', '--repo', '**'], key)
  t.equal(fromStdin.code, EXIT.ok, fromStdin.stderr)
  t.equal(fromStdin.stdout, 'default\n')
  t.match(fromStdin.stderr, `ssh default (${key.length} B) for`, 'its size as every size is printed')
  t.equal((await app.inject({ method: 'GET', url: '/v1/secrets/default' })).json<Secret>().sizeBytes, key.length, 'stdin read whole')

  const list = await run(admin, ['secret', 'list'])
  t.equal(list.code, EXIT.ok)
  t.match(list.stdout, /^default {2}ssh {2}repos \*\*; tokens \(any\)/m)
  t.match(list.stdout, /^npm {2}secret {2}repos git.example\/acme\/\*; tokens ci {2}updated \d+ (ms|s) ago$/m, 'when, as the other lists say it')
  t.notMatch(list.stdout + made.stdout + made.stderr, value, 'the value is never printed')

  const noFile = await run(admin, ['secret', 'create', 'x', '--repo', '**'])
  t.equal(noFile.code, EXIT.usage)
  t.match(noFile.stderr, /^slipway: secret create needs --from-file/, 'the program named once')
  const badKind = await run(admin, ['secret', 'create', 'x', '--kind', 'gpg', '--from-file', file])
  t.equal(badKind.code, EXIT.usage)
  const notKey = await run(admin, ['secret', 'create', 'k', '--kind', 'ssh', '--from-file', file, '--repo', '**'])
  t.equal(notKey.code, EXIT.rejected)
  t.match(notKey.stderr, /SECRET_VALUE_INVALID/)
  t.notMatch(notKey.stderr, value)

  t.equal((await run(admin, ['secret', 'delete', 'default'])).code, EXIT.ok)
  const gone = await run(admin, ['secret', 'delete', 'default'])
  t.equal(gone.code, EXIT.rejected)
  t.match(gone.stderr, /SECRET_NOT_FOUND/)
})

t.test('submit --secret and --ssh name what the build mounts; a refusal exits as unauthorized', async (t) => {
  const ci = (await app.inject({ method: 'POST', url: '/v1/tokens', payload: { name: 'ci', scopes: ['builds:write', 'builds:read'] } })).json<{ token: string }>()
  await app.inject({ method: 'POST', url: '/v1/secrets', payload: { id: 'pypi', value: 'v', repos: ['git.example/acme/*'], tokens: ['ci'] } })
  await app.inject({ method: 'POST', url: '/v1/secrets', payload: { id: 'deploy', kind: 'ssh', value: '-----BEGIN OPENSSH PRIVATE KEY-----\nA\n-----END OPENSSH PRIVATE KEY-----', repos: ['**'] } })
  const env = { SLIPWAY_URL: url, SLIPWAY_TOKEN: ci.token }
  const accepted = await run(env, ['submit', '--repo', 'https://git.example/acme/app.git', '--secret', 'pypi', '--ssh', 'deploy', '--json'])
  t.equal(accepted.code, EXIT.ok, accepted.stderr)
  const build = JSON.parse(accepted.stdout) as Build
  t.same([build.request.secrets, build.request.ssh], [['pypi'], ['deploy']])
  const refused = await run(env, ['submit', '--repo', 'https://git.example/other/app.git', '--secret', 'pypi'])
  t.equal(refused.code, EXIT.unauthorized)
  t.match(refused.stderr, /SECRET_NOT_ALLOWED: This build may not use the secret 'pypi'/)
})
