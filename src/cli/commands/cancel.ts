import type { Build } from '../../domain/schemas/build.js'
import { COMMON_FLAGS, type CommandSpec, type Parsed } from '../args.js'
import { EXIT, type ExitCode } from '../exit-codes.js'
import { apiOf, print } from './shared.js'

export const cancelSpec: CommandSpec = {
  name: 'cancel',
  usage: 'cancel ID [--json]',
  summary: 'Cancel a queued or running build.',
  description:
    'A queued build ends canceled at once; a running one is stopped by its worker within seconds.\n' +
    'A build that has already ended is refused with BUILD_FINISHED (exit code 4).',
  args: ['ID'],
  flags: COMMON_FLAGS
}

export async function cancel (parsed: Parsed): Promise<ExitCode> {
  const build = await apiOf(parsed).json<Build>('POST', `v1/builds/${encodeURIComponent(parsed.args[0]!)}/cancel`)
  const outcome = build.status === 'canceled' ? 'canceled' : `cancel requested; it is stopping (${build.status})`
  print(parsed, build, `Build ${build.id} ${outcome}\n`)
  return EXIT.ok
}
