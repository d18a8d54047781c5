#!/usr/bin/env node
import { parseArgs } from 'node:util'
import { createTokenStore, SCOPES, type Scope } from './auth/tokens.js'
import { redisKeys } from './builds/keys.js'
import { ConfigError, loadConfig } from './config.js'
import { createRedis } from './redis.js'

const HELP = `slipway: the command line of Slipway

Usage:
  slipway token create --name NAME --scopes SCOPE[,SCOPE…]
  slipway token list
  slipway token revoke ID

Token commands run where the service's Redis is reachable (SLIPWAY_REDIS_URL, SLIPWAY_PREFIX):
they are how the first token is made. Scopes: ${SCOPES.join(', ')}.
The token is printed once; only its hash is kept.
`

/** Exit codes: 0 done, 2 usage, 3 cannot reach what it needs. */
async function main(argv: string[]): Promise<number> {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { name: { type: 'string' }, scopes: { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } }
  })
  const [group, command, argument] = positionals
  if (values.help || group !== 'token' || !command) {
    process.stdout.write(HELP)
    return values.help ? 0 : 2
  }
  const config = loadConfig()
  const redis = createRedis(config.redisUrl, 'worker', { warn: () => undefined })
  const tokens = createTokenStore(redis, redisKeys(config.prefix))
  try {
    await redis.connect()
    switch (command) {
      case 'create': {
        const scopes = (values.scopes ?? '').split(',').filter(Boolean)
        const unknown = scopes.filter((scope) => !SCOPES.includes(scope as Scope))
        if (!values.name || scopes.length === 0 || unknown.length > 0) {
          process.stderr.write(`slipway token create needs --name and --scopes from ${SCOPES.join(', ')}${unknown.length ? ` (not ${unknown.join(', ')})` : ''}\n`)
          return 2
        }
        const { token, record } = await tokens.create(values.name, scopes as Scope[])
        process.stdout.write(values.json ? `${JSON.stringify({ ...record, token })}\n` : `${token}\n`)
        if (!values.json) process.stderr.write(`token ${record.id} "${record.name}" (${record.scopes.join(', ')}): keep it now, it is not shown again\n`)
        return 0
      }
      case 'list':
        for (const record of await tokens.list()) process.stdout.write(`${record.id}  ${record.name}  ${record.scopes.join(',')}  ${record.createdAt}\n`)
        return 0
      case 'revoke':
        if (!argument) {
          process.stderr.write('slipway token revoke needs the token id (slipway token list shows them)\n')
          return 2
        }
        if (!(await tokens.revoke(argument))) {
          process.stderr.write(`no token has the id ${argument}\n`)
          return 2
        }
        process.stderr.write(`token ${argument} revoked\n`)
        return 0
      default:
        process.stdout.write(HELP)
        return 2
    }
  } finally {
    redis.disconnect()
  }
}

main(process.argv.slice(2)).then(
  (code) => (process.exitCode = code),
  (error: unknown) => {
    if (error instanceof ConfigError || error instanceof TypeError) process.stderr.write(`${(error as Error).message}\n`)
    else process.stderr.write(`slipway: ${(error as Error).message}. Is Redis reachable at SLIPWAY_REDIS_URL?\n`)
    process.exitCode = error instanceof ConfigError || error instanceof TypeError ? 2 : 3
  }
)
