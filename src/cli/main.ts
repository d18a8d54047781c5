import { ConfigError } from '../domain/config.js'
import { packageVersion } from '../package-info.js'
import { ApiError, ConnectionError } from './api-client.js'
import { commandHelp, parseCommand, type CommandSpec, type Parsed } from './args.js'
import { cancel, cancelSpec } from './commands/cancel.js'
import { logs, logsSpec } from './commands/logs.js'
import { retry, retrySpec } from './commands/retry.js'
import { status, statusSpec } from './commands/status.js'
import { submit, submitSpec } from './commands/submit.js'
import { secret, secretSpec } from './commands/secret.js'
import { say } from './commands/shared.js'
import { token, tokenSpec, type OpenOperatorTokens } from './commands/token.js'
import { trigger, triggerSpec } from './commands/trigger.js'
import { webhook, webhookSpec } from './commands/webhook.js'
import { EXIT, EXIT_CODE_MEANINGS, UsageError, type ExitCode } from './exit-codes.js'

/** What the CLI needs from outside the HTTP API, handed in by the program's entry. */
export interface CliDeps {
  openOperatorTokens: OpenOperatorTokens
}

const COMMANDS: [CommandSpec, (parsed: Parsed, deps: CliDeps) => Promise<ExitCode>][] = [
  [submitSpec, submit],
  [statusSpec, status],
  [logsSpec, logs],
  [cancelSpec, cancel],
  [retrySpec, retry],
  [tokenSpec, token],
  [secretSpec, secret],
  [triggerSpec, trigger],
  [webhookSpec, webhook]
]

export function toolHelp (): string {
  const width = Math.max(...COMMANDS.map(([spec]) => spec.name.length)) + 2
  const commands = COMMANDS.map(([spec]) => `  ${spec.name.padEnd(width)}${spec.summary}`).join('\n')
  const codes = EXIT_CODE_MEANINGS.map(([code, meaning]) => `  ${String(code).padStart(3)}  ${meaning}`).join('\n')
  return `slipway ${packageVersion}: build container images on a Slipway server, from CI or a terminal

Usage: slipway COMMAND [options]
       slipway COMMAND --help      the command's options and examples

Commands:
${commands}

Settings (flags override them):
  SLIPWAY_URL     the server, e.g. https://slipway.example.com          (--url)
  SLIPWAY_TOKEN   an API token; \`slipway token --help\` says how to make one (--token)

Every command takes --json, which prints the API's JSON instead of text.

In CI:
  slipway submit --dir . --image registry.example.com/team/app --tag "$CI_COMMIT_SHA" --follow

Exit codes:
${codes}
`
}

/** Runs one command line; answers the exit code. Errors are explained on stderr, never thrown. */
export async function main (argv: string[], deps: CliDeps): Promise<ExitCode> {
  const [name, ...rest] = argv
  try {
    if (name === undefined || name === '--help' || name === '-h' || (name === 'help' && rest.length === 0)) {
      process.stdout.write(toolHelp())
      return name === undefined ? EXIT.usage : EXIT.ok
    }
    if (name === '--version') {
      process.stdout.write(`${packageVersion}\n`)
      return EXIT.ok
    }
    const asked = name === 'help' ? rest[0] : name
    const command = COMMANDS.find(([spec]) => spec.name === asked)
    if (!command) throw new UsageError(`'${asked}' is not a command: ${COMMANDS.map(([spec]) => spec.name).join(', ')}. See \`slipway --help\`.`)
    const [spec, run] = command
    if (name === 'help') {
      process.stdout.write(commandHelp(spec))
      return EXIT.ok
    }
    const parsed = parseCommand(spec, rest)
    if (parsed.has('help')) {
      process.stdout.write(commandHelp(spec))
      return EXIT.ok
    }
    return await run(parsed, deps)
  } catch (error) {
    return explain(error)
  }
}

function explain (error: unknown): ExitCode {
  if (error instanceof UsageError || error instanceof ConfigError) {
    say(error.message)
    return EXIT.usage
  }
  if (error instanceof ApiError) {
    say(`${error.code}: ${error.message}`)
    for (const detail of error.details ?? []) say(`  ${detail.path || '(body)'}: ${detail.message}`)
    if (error.status === 401 || error.status === 403) return EXIT.unauthorized
    return error.status >= 500 ? EXIT.unreachable : EXIT.rejected
  }
  if (error instanceof ConnectionError) {
    say(error.message)
    return EXIT.unreachable
  }
  say(`unexpected error, a bug in slipway: ${(error as Error).stack ?? String(error)}`)
  return EXIT.internal
}
