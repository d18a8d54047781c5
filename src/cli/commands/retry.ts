import type { Build } from '../../domain/schemas/build.js'
import { COMMON_FLAGS, type CommandSpec, type Parsed } from '../args.js'
import { EXIT, type ExitCode } from '../exit-codes.js'
import { announce, apiOf, print, watch } from './shared.js'
import { FOLLOW_FLAG } from './submit.js'

export const retrySpec: CommandSpec = {
  name: 'retry',
  usage: 'retry ID [--follow] [--json]',
  summary: 'Build an ended build again: the same request, pinned to the commit it built.',
  description: 'Prints the new build\'s id (or, with --json, the build). With --follow, as `slipway submit --follow`.',
  args: ['ID'],
  flags: [FOLLOW_FLAG, ...COMMON_FLAGS]
}

export async function retry (parsed: Parsed): Promise<ExitCode> {
  const api = apiOf(parsed)
  const response = await api.send('POST', `v1/builds/${encodeURIComponent(parsed.args[0]!)}/retry`)
  const build = (await response.json()) as Build
  announce(build, `retries ${parsed.args[0]}${parsed.has('follow') ? '; following its log' : ''}`, response.headers)
  if (parsed.has('follow')) return watch(api, build, parsed)
  print(parsed, build, `${build.id}\n`)
  return EXIT.ok
}
