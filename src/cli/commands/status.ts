import type { Build } from '../../domain/schemas/build.js'
import { TERMINAL_STATUSES } from '../../domain/schemas/build.js'
import type { ApiClient } from '../api-client.js'
import { COMMON_FLAGS, type CommandSpec, type Parsed } from '../args.js'
import { describeBuild, exitCodeOf } from '../build-summary.js'
import { EXIT, type ExitCode } from '../exit-codes.js'
import { apiOf, print, say } from './shared.js'

// Each request waits this long at most (the API's limit) for the build's status to change.
const WAIT = '60s'

export const statusSpec: CommandSpec = {
  name: 'status',
  usage: 'status ID [--wait] [--json]',
  summary: 'Show a build: its status, source, phases, layer cache hits, and its image (with its package count) or error.',
  description: `
The cache lines say how many Dockerfile steps came from the layer cache and which step ran first,
and why (the steps after it ran because it did):
  cache    5 of 9 steps (56%)
           line 4 COPY . /app rebuilt: src/app.py changed; 3 steps after it followed

Exits 0 whatever the build's status (it reports). With --wait, waits for the build to end without
printing its log (each change of status is said on stderr), then shows it and exits with its
outcome, as \`slipway logs -f ID\` does.`,
  args: ['ID'],
  flags: [{ name: 'wait', help: 'Wait until the build ends; exit with its outcome' }, ...COMMON_FLAGS]
}

export async function status (parsed: Parsed): Promise<ExitCode> {
  const api = apiOf(parsed)
  const path = `v1/builds/${encodeURIComponent(parsed.args[0]!)}`
  const build = await api.json<Build>('GET', path)
  if (!parsed.has('wait')) {
    print(parsed, build, describeBuild(build))
    return EXIT.ok
  }
  const interrupt = new AbortController()
  const stop = () => interrupt.abort()
  process.once('SIGINT', stop)
  try {
    const ended = await untilEnded(api, path, build, interrupt.signal)
    print(parsed, ended, describeBuild(ended))
    return exitCodeOf(ended)
  } catch (error) {
    if (!interrupt.signal.aborted) throw error
    say(`stopped waiting; build ${build.id} goes on (\`slipway cancel ${build.id}\` stops it)`)
    return EXIT.interrupted
  } finally {
    process.off('SIGINT', stop)
  }
}

/** Asks again and again with the status last seen: the API answers when it changes (or after WAIT), so nothing is polled. */
async function untilEnded (api: ApiClient, path: string, build: Build, signal: AbortSignal): Promise<Build> {
  let current = build
  while (!TERMINAL_STATUSES.includes(current.status)) {
    const next = await api.json<Build>('GET', path, { query: { wait: WAIT, status: current.status }, signal })
    if (next.status !== current.status) say(`build ${next.id} is ${next.status}`)
    current = next
  }
  return current
}
