import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import type { Build } from '../../domain/schemas/build.js'
import { COMMON_FLAGS, integer, type CommandSpec, type Parsed } from '../args.js'
import { EXIT, UsageError, type ExitCode } from '../exit-codes.js'
import { jsonLine, terminalTextStream } from '../terminal-text.js'
import { apiOf, watch } from './shared.js'

export const logsSpec: CommandSpec = {
  name: 'logs',
  usage: 'logs [-f] [--tail N] ID',
  summary: "Print a build's log: everything git, the build and the push printed.",
  description: `
Without -f, prints what there is now and exits 0. With -f, follows the log until the build ends,
then prints the build and exits with its outcome, as \`slipway submit --follow\` does.
The log is text; with -f --json, each event is printed as a JSON line instead:
{"event":"log"|"status"|"end","id":…,"data":…}, the last one's data being the ended build.`,
  args: ['ID'],
  flags: [
    { name: 'follow', short: 'f', help: 'Follow the log until the build ends; exit with its outcome' },
    { name: 'tail', value: 'N', help: 'Print only the last N lines (without -f)' },
    ...COMMON_FLAGS
  ]
}

export async function logs (parsed: Parsed): Promise<ExitCode> {
  const api = apiOf(parsed)
  const path = `v1/builds/${encodeURIComponent(parsed.args[0]!)}`
  if (parsed.has('follow') && parsed.has('tail')) throw new UsageError('--tail goes without -f: a followed log starts at its beginning.')
  if (!parsed.has('follow')) {
    const response = await api.send('GET', `${path}/logs`, { query: { tail: integer('tail', parsed.string('tail')) } })
    await pipeline(Readable.fromWeb(response.body!), terminalTextStream(), process.stdout, { end: false })
    return EXIT.ok
  }
  // Read first, so a wrong id is a plain 404 and the elapsed time counts from the build's start.
  const build = await api.json<Build>('GET', path)
  if (!parsed.has('json')) return watch(api, build, parsed)
  return watch(api, build, parsed, (event) => process.stdout.write(jsonLine({ event: event.event, id: event.id ?? null, data: JSON.parse(event.data) as unknown })))
}
