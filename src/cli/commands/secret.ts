import { readFile } from 'node:fs/promises'
import { formatBytes } from '../../domain/format.js'
import type { Secret } from '../../domain/schemas/secret.js'
import { SECRET_MAX_BYTES } from '../../domain/schemas/secret.js'
import { isSecretId, repoPatternProblem } from '../../domain/secrets/secret-access.js'
import { SECRET_KINDS, type SecretKind } from '../../domain/secrets/secret-ids.js'
import { type CommandSpec, COMMON_FLAGS, type Parsed } from '../args.js'
import { EXIT, UsageError, type ExitCode } from '../exit-codes.js'
import { terminalText } from '../terminal-text.js'
import { ago, apiOf, print } from './shared.js'

export const secretSpec: CommandSpec = {
  name: 'secret',
  usage: 'secret create ID [--kind secret|ssh] --from-file PATH [--repo PATTERN]... [--token NAME]... | secret list | secret delete ID',
  summary: 'Hold secrets and SSH keys for builds (scope secrets:admin); a value goes in and never comes out.',
  description: `
A build names what it needs (\`slipway submit --secret npm --ssh default\`), and its Dockerfile
mounts it in the RUN steps that need it, never in the image:
  RUN --mount=type=secret,id=npm  NPM_TOKEN=$(cat /run/secrets/npm) npm ci
  RUN --mount=type=ssh            git clone git@github.com:acme/private.git

The value is read from a file, or from standard input with --from-file -, never from an argument
(which would land in shell history and in \`ps\`). An ssh secret is a private key without a passphrase.

--repo names the repositories whose builds may use it: host and path, "*" within one component,
"**" any number ("github.com/acme/*"; "**" alone: any). --token names tokens (names or ids) whose
builds may use it; none: any token. A build of an uploaded folder (--dir) has no repository: it
may use a secret only when --token names its token.

Examples:
  slipway secret create npm --from-file ~/.npm-token --repo 'github.com/acme/*' --token ci-main
  printf %s "$DEPLOY_KEY" | slipway secret create default --kind ssh --from-file - --repo github.com/acme/app
  slipway secret list
  slipway secret delete npm`,
  flags: [
    { name: 'kind', value: 'KIND', help: `${SECRET_KINDS.join(' or ')}: mounted as a file, or offered through an SSH agent (create; default: secret)` },
    { name: 'from-file', value: 'PATH', help: 'The file holding the value; - reads standard input (create)' },
    { name: 'repo', value: 'PATTERN', multiple: true, help: 'A repository pattern whose builds may use it; repeat for more (create)' },
    { name: 'token', value: 'NAME', multiple: true, help: 'A token (name or id) whose builds may use it; repeat for more; default: any token (create)' },
    ...COMMON_FLAGS.map((flag) => (flag.name === 'token' ? { ...flag, name: 'api-token', help: 'The API token (default: $SLIPWAY_TOKEN, which is better: flags show in `ps`)' } : flag))
  ]
}

async function readValue (path: string): Promise<Buffer> {
  const unreadable = (error: Error) => {
    throw new UsageError(`--from-file: cannot read ${path} (${error.message}).`)
  }
  const value = path === '-' ? await readStdin() : await readFile(path).catch(unreadable)
  if (value.length === 0) throw new UsageError(`--from-file: ${path === '-' ? 'standard input' : path} is empty; give the bytes builds are to read.`)
  if (value.length > SECRET_MAX_BYTES) throw new UsageError(`--from-file: ${formatBytes(value.length)}; a secret holds at most ${formatBytes(SECRET_MAX_BYTES)}.`)
  return value
}

async function readStdin (): Promise<Buffer> {
  const chunks: Buffer[] = []
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks)
}

export async function secret (parsed: Parsed): Promise<ExitCode> {
  const [action = '', ...ids] = parsed.args
  const arity = ({ create: 1, list: 0, delete: 1 } as Record<string, number>)[action]
  if (arity === undefined || ids.length !== arity) {
    throw new UsageError(`secret takes create ID, list or delete ID: slipway ${secretSpec.usage}. See \`slipway secret --help\`.`)
  }
  const id = ids[0]
  if (id !== undefined && !isSecretId(id)) throw new UsageError(`'${id}' is not a secret id: 1 to 64 letters, digits, "_", "." and "-", as the Dockerfile names it.`)
  // --token names who may use the secret; the API token comes from SLIPWAY_TOKEN or --api-token.
  const api = apiOf({ ...parsed, string: (name) => parsed.string(name === 'token' ? 'api-token' : name) })
  switch (action) {
    case 'create': {
      const kind = (parsed.string('kind') ?? 'secret') as SecretKind
      if (!SECRET_KINDS.includes(kind)) throw new UsageError(`--kind is ${SECRET_KINDS.join(' or ')}, not ${kind}.`)
      const from = parsed.string('from-file')
      if (from === undefined) throw new UsageError('secret create needs --from-file PATH (or --from-file - for standard input): a value is never taken from an argument.')
      const repos = parsed.strings('repo')
      for (const pattern of repos) {
        const problem = repoPatternProblem(pattern)
        if (problem) throw new UsageError(`--repo: '${pattern}' ${problem}.`)
      }
      const value = await readValue(from)
      const made = await api.json<Secret>('POST', 'v1/secrets', { json: { id, kind, value: value.toString('base64'), encoding: 'base64', repos, tokens: parsed.strings('token') } })
      print(parsed, made, `${made.id}\n`)
      if (!parsed.has('json')) process.stderr.write(terminalText(`${made.kind} ${made.id} (${formatBytes(made.sizeBytes)}) for ${describeScope(made)}\n`))
      return EXIT.ok
    }
    case 'list': {
      const { items } = await api.json<{ items: Secret[] }>('GET', 'v1/secrets')
      print(parsed, { items }, items.map((item) => `${item.id}  ${item.kind}  ${describeScope(item)}  updated ${ago(item.updatedAt)}\n`).join(''))
      return EXIT.ok
    }
    default:
      await api.send('DELETE', `v1/secrets/${encodeURIComponent(id!)}`)
      process.stderr.write(terminalText(`secret ${id} deleted\n`))
      return EXIT.ok
  }
}

const describeScope = (secret: Pick<Secret, 'repos' | 'tokens'>) =>
  `repos ${secret.repos.join(',') || '(none)'}; tokens ${secret.tokens.length === 0 ? '(any)' : secret.tokens.join(',')}`
