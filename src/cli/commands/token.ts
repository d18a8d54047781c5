import { SCOPES, type Scope, type TokenRecord } from '../../domain/auth/tokens.js'
import { patternProblem } from '../../domain/builds/push-allow.js'
import { TokenCreateSchema } from '../../domain/schemas/token.js'
import { type CommandSpec, COMMON_FLAGS, type Parsed } from '../args.js'
import { ConnectionError, ApiError } from '../api-client.js'
import { EXIT, UsageError, type ExitCode } from '../exit-codes.js'
import { terminalText } from '../terminal-text.js'
import { ago, apiOf, print } from './shared.js'

export const tokenSpec: CommandSpec = {
  name: 'token',
  usage: 'token create --name NAME --scopes SCOPE[,SCOPE…] [--push-allow PATTERN[,PATTERN…]] | token list | token revoke ID',
  summary: 'Make, list and revoke API tokens. A token is printed once; only its hash is kept.',
  description: `
Scopes: ${TokenCreateSchema.properties.scopes.description}.

Push patterns (--push-allow): ${TokenCreateSchema.properties.pushAllow.description}

Where the tokens are made:
  - over the API, when SLIPWAY_URL (or --url) is set: SLIPWAY_TOKEN must be an admin token;
  - straight in Redis otherwise, or with --redis: run where the service's Redis is reachable
    (SLIPWAY_REDIS_URL, SLIPWAY_PREFIX, as the server has them). This is how the first token
    is made, before there is any token to call the API with.

Examples:
  slipway token create --name ci-main --scopes builds:read,builds:write --redis
  slipway token create --name team-a-ci --scopes builds:read,builds:write --push-allow 'registry.example.com/team-a/*'
  SLIPWAY_TOKEN=$ADMIN slipway token create --name portal --scopes builds:read`,
  flags: [
    { name: 'name', value: 'NAME', help: 'Who or what uses the token, e.g. ci-main (create)' },
    { name: 'scopes', value: 'LIST', help: `Comma-separated, from ${SCOPES.join(', ')} (create)` },
    { name: 'push-allow', value: 'LIST', help: "Comma-separated image repository patterns its builds may push to; '' for nowhere; default: SLIPWAY_PUSH_ALLOW (create)" },
    { name: 'redis', help: 'Work in Redis directly, not over the API (see above)' },
    ...COMMON_FLAGS
  ]
}

/** Where tokens are kept and made: the API or the service's Redis. */
interface TokenBackend {
  create(name: string, scopes: Scope[], pushAllow: string[] | null): Promise<TokenRecord & { token: string }>
  list(): Promise<TokenRecord[]>
  revoke(id: string): Promise<void>
  close(): void
}

/**
 * Opens the service's Redis for tokens; given by the program's entry (src/cli.ts), so this
 * command reaches storage only through what it is handed. Its revoke answers whether the id existed.
 */
export type OpenOperatorTokens = () => Promise<Omit<TokenBackend, 'revoke'> & { revoke(id: string): Promise<boolean> }>

export async function token (parsed: Parsed, deps: { openOperatorTokens: OpenOperatorTokens }): Promise<ExitCode> {
  const [action = '', ...ids] = parsed.args
  const arity = ({ create: 0, list: 0, revoke: 1 } as Record<string, number>)[action]
  if (arity === undefined || ids.length !== arity) {
    throw new UsageError(`token takes create, list or revoke ID: slipway ${tokenSpec.usage}${action === 'revoke' ? ' (slipway token list shows the ids)' : ''}. See \`slipway token --help\`.`)
  }
  const id = ids[0]
  const scopes = action === 'create' ? scopesOf(parsed) : []
  const pushAllow = pushAllowOf(parsed)
  const useApi = !parsed.has('redis') && (parsed.string('url') ?? process.env.SLIPWAY_URL) !== undefined
  const backend = useApi ? apiBackend(parsed) : await redisBackend(deps.openOperatorTokens)
  try {
    switch (action) {
      case 'create': {
        const made = await backend.create(parsed.string('name')!, scopes, pushAllow)
        print(parsed, made, `${made.token}\n`)
        const pushes = made.pushAllow === null ? '' : `; pushes to ${made.pushAllow.join(', ') || 'nothing'}`
        if (!parsed.has('json')) process.stderr.write(terminalText(`token ${made.id} "${made.name}" (${made.scopes.join(', ')}${pushes}): keep it now, it is not shown again\n`))
        return EXIT.ok
      }
      case 'list': {
        const items = await backend.list()
        print(parsed, { items }, items.map((record) => `${record.id}  ${record.name}  ${record.scopes.join(',')}  made ${ago(record.createdAt)}\n`).join(''))
        return EXIT.ok
      }
      default:
        await backend.revoke(id!)
        process.stderr.write(`token ${id} revoked\n`)
        return EXIT.ok
    }
  } finally {
    backend.close()
  }
}

function scopesOf (parsed: Parsed): Scope[] {
  const scopes = (parsed.string('scopes') ?? '').split(',').filter(Boolean)
  const unknown = scopes.filter((scope) => !SCOPES.includes(scope as Scope))
  if (!parsed.string('name') || scopes.length === 0 || unknown.length > 0) {
    throw new UsageError(`token create needs --name and --scopes from ${SCOPES.join(', ')}${unknown.length ? ` (not ${unknown.join(', ')})` : ''}`)
  }
  return scopes as Scope[]
}

/** --push-allow as patterns, each checked here so both ways of making tokens refuse alike; null when not given. */
function pushAllowOf (parsed: Parsed): string[] | null {
  const given = parsed.string('push-allow')
  if (given === undefined) return null
  const patterns = given.split(',').map((pattern) => pattern.trim()).filter(Boolean)
  for (const pattern of patterns) {
    const problem = patternProblem(pattern)
    if (problem) throw new UsageError(`--push-allow: '${pattern}' ${problem}.`)
  }
  return patterns
}

function apiBackend (parsed: Parsed): TokenBackend {
  if (!(parsed.string('token') ?? process.env.SLIPWAY_TOKEN)) {
    throw new UsageError('Over the API (SLIPWAY_URL is set), tokens are made with an admin token in SLIPWAY_TOKEN. Without one, add --redis to make the token in Redis directly, where the server\'s Redis is reachable.')
  }
  const api = apiOf(parsed)
  return {
    create: (name, scopes, pushAllow) => api.json('POST', 'v1/tokens', { json: { name, scopes, ...(pushAllow === null ? {} : { pushAllow }) } }),
    list: async () => (await api.json<{ items: TokenRecord[] }>('GET', 'v1/tokens')).items,
    revoke: async (id) => { await api.send('DELETE', `v1/tokens/${encodeURIComponent(id)}`) },
    close: () => undefined
  }
}

async function redisBackend (open: OpenOperatorTokens): Promise<TokenBackend> {
  let tokens: Awaited<ReturnType<OpenOperatorTokens>>
  try {
    tokens = await open()
  } catch (error) {
    throw new ConnectionError(`cannot reach Redis at SLIPWAY_REDIS_URL (${(error as Error).message}). Run this where the service's Redis is reachable, or set SLIPWAY_URL to use the API.`)
  }
  return {
    ...tokens,
    revoke: async (id) => {
      // The API's answer for the same mistake, so both ways read alike.
      if (!(await tokens.revoke(id))) throw new ApiError(404, 'TOKEN_NOT_FOUND', `No token has the id '${id}'; \`slipway token list\` shows them.`)
    }
  }
}
