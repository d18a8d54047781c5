import type { Build } from '../../domain/schemas/build.js'
import { createApiClient, type ApiClient } from '../api-client.js'
import type { CommandSpec, Parsed } from '../args.js'
import { describeBuild, exitCodeOf } from '../build-summary.js'
import { EXIT, UsageError, type ExitCode } from '../exit-codes.js'
import { followBuild } from '../follow.js'
import { liveDisplay, plainDisplay, type ProgressDisplay } from '../progress-display.js'
import type { SseEvent } from '../sse.js'
import { jsonLine, terminalText } from '../terminal-text.js'

/** The API the flags or the environment name. */
export function apiOf (parsed: Parsed): ApiClient {
  return createApiClient(parsed.string('url') ?? process.env.SLIPWAY_URL, parsed.string('token') ?? process.env.SLIPWAY_TOKEN)
}

/** Prints an answer: the API's JSON with --json, else the text; either way with no terminal controls from the server in it. */
export function print (parsed: Parsed, json: unknown, text: string): void {
  process.stdout.write(parsed.has('json') ? jsonLine(json) : terminalText(text))
}

/**
 * The action of a command with subcommands (`trigger list`) and its arguments, checked against
 * how many arguments each action takes; a wrong call is told the command's usage line.
 */
export function subcommand (spec: CommandSpec, parsed: Parsed, arities: Record<string, number>): { action: string; args: string[] } {
  const [action = '', ...args] = parsed.args
  if (!Object.hasOwn(arities, action) || args.length !== arities[action]) {
    throw new UsageError(`${spec.name} takes ${Object.keys(arities).join(', ')}: slipway ${spec.usage}. See \`slipway ${spec.name} --help\`.`)
  }
  return { action, args }
}

/** Rows as aligned columns, two spaces apart, the last column left ragged; a header row first if given. */
export function table (rows: string[][]): string {
  const widths = rows[0]?.map((_, column) => Math.max(...rows.map((row) => row[column]?.length ?? 0))) ?? []
  return rows.map((row) => `${row.map((cell, column) => (column === row.length - 1 ? cell : cell.padEnd(widths[column]!))).join('  ')}\n`).join('')
}

/** A past moment as the portal words it too: "5 min ago". */
export { formatAgo as ago } from '../../domain/format.js'

/** Says something on stderr; what the server said in it is shown without terminal controls. */
export function say (text: string): void {
  process.stderr.write(`slipway: ${terminalText(text)}\n`)
}

/** Says which build a command made, on stderr, so stdout stays the build's id (or JSON) for scripts. */
export function announce (build: Build, what: string, headers: Headers): void {
  const joined = headers.get('slipway-joined') === 'true' ? ' (joined an identical build already queued or running)' : ''
  const replayed = headers.get('idempotent-replayed') === 'true' ? ' (made earlier with this Idempotency-Key)' : ''
  say(`build ${build.id} ${what}${joined}${replayed}`)
}

// For a caller that prints the events itself (`logs -f --json`).
const SILENT: ProgressDisplay = { log: () => undefined, status: () => undefined, close: () => undefined }

/**
 * Follows a build to its end, showing its progress (a live status line on a terminal, plain lines
 * otherwise; on stderr with --json, whose stdout is the ended build's JSON), prints the ended
 * build, and answers the exit code its status means. Ctrl-C stops following, not the build.
 */
export async function watch (api: ApiClient, build: Build, parsed: Parsed, onEvent?: (event: SseEvent) => void): Promise<ExitCode> {
  const json = parsed.has('json')
  const out = json ? process.stderr : process.stdout
  const display = onEvent ? SILENT : out.isTTY ? liveDisplay(out, Date.parse(build.createdAt)) : plainDisplay(out)
  const interrupt = new AbortController()
  const stop = () => interrupt.abort()
  process.once('SIGINT', stop)
  let ended: Build
  try {
    ended = await followBuild(api, build.id, display, { signal: interrupt.signal, ...(onEvent ? { onEvent } : {}) })
  } catch (error) {
    if (!interrupt.signal.aborted) throw error
    // The status line, and the ^C the terminal echoed where the cursor was, are cleared first:
    // the last line is this one, whole.
    display.close()
    if (process.stderr.isTTY) process.stderr.write('\r\x1b[2K')
    say(`stopped following; build ${build.id} goes on (\`slipway cancel ${build.id}\` stops it)`)
    return EXIT.interrupted
  } finally {
    display.close()
    process.off('SIGINT', stop)
  }
  if (!onEvent) print(parsed, ended, describeBuild(ended))
  return exitCodeOf(ended)
}
