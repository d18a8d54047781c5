import { execFile } from 'node:child_process'
import path from 'node:path'
import { promisify } from 'node:util'
import t from 'tap'
import { packageRoot } from '../src/package-info.js'
import { buildApp } from './helpers/app.js'
import { configEnv } from './helpers/processes.js'
import { testConfig } from './helpers/config.js'

const run = promisify(execFile)
const loader = process.execArgv.filter((arg) => arg.includes('@tapjs/typescript'))

t.test('slipway token create makes a token the API accepts, with its scopes; revoke ends it', async (t) => {
  const config = testConfig(t)
  const app = await buildApp(t, config)
  const cli = (...args: string[]) =>
    run(process.execPath, [...loader, path.join(packageRoot, 'src', 'cli.ts'), ...args], { env: { ...process.env, ...configEnv(config) } })

  const { stdout, stderr } = await cli('token', 'create', '--name', 'ci', '--scopes', 'builds:read')
  const token = stdout.trim()
  t.match(token, /^slw_/)
  t.match(stderr, /not shown again/)
  const authorization = `Bearer ${token}`
  t.equal((await app.inject({ method: 'GET', url: '/v1/builds', headers: { authorization } })).statusCode, 200)
  t.equal((await app.inject({ method: 'POST', url: '/v1/builds', headers: { authorization }, payload: { repo: 'https://h/x' } })).statusCode, 403)

  const listed = (await cli('token', 'list')).stdout
  t.match(listed, /^\S+ {2}ci {2}builds:read {2}made \d+ (ms|s) ago\n/m, 'when it was made, as the other lists say it')
  const [id] = listed.trim().split(/\s+/)
  await cli('token', 'revoke', id!)
  t.equal((await app.inject({ method: 'GET', url: '/v1/builds', headers: { authorization } })).statusCode, 401)

  const wrong = await cli('token', 'create', '--name', 'x', '--scopes', 'root').catch((error: { code: number; stderr: string }) => error)
  t.match(wrong, { code: 2, stderr: /not root/ }, 'an unknown scope is a usage error')
})
