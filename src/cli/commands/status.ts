import type { Build } from '../../domain/schemas/build.js'
import { COMMON_FLAGS, type CommandSpec, type Parsed } from '../args.js'
import { describeBuild } from '../build-summary.js'
import { EXIT, type ExitCode } from '../exit-codes.js'
import { apiOf, print } from './shared.js'

export const statusSpec: CommandSpec = {
  name: 'status',
  usage: 'status ID [--json]',
  summary: 'Show a build: its status, source, phases, layer cache hits, and its image (with its package count) or error.',
  description: `
The cache lines say how many Dockerfile steps came from the layer cache and which step ran first,
and why (the steps after it ran because it did):
  cache    5 of 9 steps (56%)
           line 4 COPY . /app rebuilt: src/app.py changed; 3 steps after it followed

Exits 0 whatever the build's status (it reports; \`slipway logs -f ID\` waits for the outcome).`,
  args: ['ID'],
  flags: COMMON_FLAGS
}

export async function status (parsed: Parsed): Promise<ExitCode> {
  const build = await apiOf(parsed).json<Build>('GET', `v1/builds/${encodeURIComponent(parsed.args[0]!)}`)
  print(parsed, build, describeBuild(build))
  return EXIT.ok
}
