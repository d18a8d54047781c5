import type { TriggerBuildOptions } from '../../domain/schemas/trigger.js'
import type { BuildRequest } from '../../domain/schemas/build.js'
import { byteSize, keyValues, seconds, type Flag, type Parsed } from '../args.js'
import { UsageError } from '../exit-codes.js'

// The flags that say how to build, shared by `submit` (one build now) and `trigger create` (a
// build on every push), so one option is spelled the same in both.

export const BUILD_OPTION_FLAGS: Flag[] = [
  { name: 'context', value: 'PATH', help: 'Build context folder, relative to the repository or folder (default: .)' },
  { name: 'dockerfile', value: 'PATH', help: 'Dockerfile, relative to the repository or folder (default: CONTEXT/Dockerfile)' },
  { name: 'target', value: 'STAGE', help: 'Stage of a multi-stage Dockerfile to build (default: the last)' },
  { name: 'build-arg', value: 'K=V', multiple: true, help: 'A build argument (ARG); repeat for more' },
  { name: 'label', value: 'K=V', multiple: true, help: 'A label for the image; repeat for more' },
  { name: 'image', value: 'NAME', help: 'Repository to tag and push as, without a tag, e.g. registry.example.com/team/app' },
  { name: 'tag', value: 'TAG', multiple: true, help: "A tag to give the image; repeat for more (default: the commit's first 12 hex digits)" },
  { name: 'push', help: 'Push every tag (the default when --image is given)' },
  { name: 'no-push', help: "Build and tag in the server's local namespace (slipway.local/…), but do not push" },
  { name: 'no-cache', help: "Build without Docker's layer cache" },
  { name: 'builder', value: 'NAME', help: "buildkit or classic (default: the worker's)" },
  { name: 'secret', value: 'ID', multiple: true, help: 'A secret the server holds, for RUN --mount=type=secret,id=ID; repeat for more (BuildKit; see `slipway secret --help`)' },
  { name: 'ssh', value: 'ID', multiple: true, help: 'An SSH key the server holds, for RUN --mount=type=ssh (ID default) or ,id=ID; repeat for more (BuildKit)' },
  { name: 'network', value: 'MODE', help: "none (RUN steps get no network) or default (the server's build network)" },
  { name: 'submodules', help: "Fetch the repository's git submodules (--repo only)" },
  { name: 'keep-git-dir', help: "Send the repository's .git folder in the context (--repo only)" },
  { name: 'timeout', value: 'DURATION', help: "Time limit of the whole build: 900, 90s, 15m, 2h (default: the server's)" },
  { name: 'priority', value: 'LEVEL', help: 'low, normal or high (default: normal)' },
  { name: 'force', help: 'Build even when an identical build is running or its image can be reused' },
  { name: 'supersede', help: 'Cancel queued builds of the same repository, ref and image' },
  { name: 'max-image-size', value: 'SIZE', help: 'A size budget for the image: 500MB, 1.5GB or bytes' },
  { name: 'budget-mode', value: 'MODE', help: 'Over budget: fail (the default: not pushed, build fails) or warn' },
  { name: 'variant', value: 'JSON', multiple: true, help: 'A variant to build and compare, e.g. \'{"name":"slim","target":"slim"}\'; 2 to 8' },
  { name: 'report', value: 'FORGE', help: "Set the commit's status on github or gitlab as the build goes (--repo only; needs --report-token)" },
  { name: 'report-token', value: 'ID', help: 'The secret the server holds with the forge token (`slipway secret create`), never the token itself' },
  { name: 'report-repo', value: 'PATH', help: "The repository on the forge, owner/name or group/project (default: the --repo URL's path)" },
  { name: 'report-context', value: 'NAME', help: "The status's name on the commit (default: slipway)" }
]

/** The build options the flags give, as POST /v1/builds names them; absent flags are left to the server's defaults. */
export function buildOptions (parsed: Parsed): TriggerBuildOptions {
  if (parsed.has('push') && parsed.has('no-push')) throw new UsageError('--push and --no-push contradict each other; give one.')
  const options: TriggerBuildOptions = {
    context: parsed.string('context'),
    dockerfile: parsed.string('dockerfile'),
    target: parsed.string('target'),
    buildArgs: keyValues('build-arg', parsed.strings('build-arg')),
    labels: keyValues('label', parsed.strings('label')),
    image: parsed.string('image'),
    tags: parsed.strings('tag').length > 0 ? parsed.strings('tag') : undefined,
    push: parsed.has('push') ? true : parsed.has('no-push') ? false : undefined,
    noCache: parsed.has('no-cache') || undefined,
    builder: parsed.string('builder') as BuildRequest['builder'],
    secrets: parsed.strings('secret').length > 0 ? parsed.strings('secret') : undefined,
    ssh: parsed.strings('ssh').length > 0 ? parsed.strings('ssh') : undefined,
    network: parsed.string('network') as BuildRequest['network'],
    submodules: parsed.has('submodules') || undefined,
    keepGitDir: parsed.has('keep-git-dir') || undefined,
    timeoutSeconds: seconds('timeout', parsed.string('timeout')),
    priority: parsed.string('priority') as BuildRequest['priority'],
    force: parsed.has('force') || undefined,
    supersede: parsed.has('supersede') || undefined,
    maxImageBytes: byteSize('max-image-size', parsed.string('max-image-size')),
    budgetMode: parsed.string('budget-mode') as BuildRequest['budgetMode'],
    variants: jsonObjects('variant', parsed.strings('variant')) as BuildRequest['variants'],
    report: reportOption(parsed)
  }
  return Object.fromEntries(Object.entries(options).filter(([, value]) => value !== undefined))
}

/** --report and its companions as the request's `report`; the API checks the names themselves. */
function reportOption (parsed: Parsed): BuildRequest['report'] {
  const provider = parsed.string('report')
  const token = parsed.string('report-token')
  const companions = ['report-token', 'report-repo', 'report-context'].filter((flag) => parsed.has(flag))
  if (provider === undefined) {
    if (companions.length > 0) throw new UsageError(`--${companions[0]!} goes with --report github|gitlab.`)
    return undefined
  }
  if (token === undefined) throw new UsageError('--report needs --report-token ID: the id of the secret that holds the forge token (see `slipway secret --help`).')
  const repo = parsed.string('report-repo')
  const context = parsed.string('report-context')
  return { provider: provider as NonNullable<BuildRequest['report']>['provider'], token, ...(repo === undefined ? {} : { repo }), ...(context === undefined ? {} : { context }) }
}

// The flag of each option, for showing a rule's options as its maker would have written them.
const FLAG_OF: Partial<Record<keyof TriggerBuildOptions, string>> = {
  context: 'context',
  dockerfile: 'dockerfile',
  target: 'target',
  buildArgs: 'build-arg',
  labels: 'label',
  image: 'image',
  tags: 'tag',
  noCache: 'no-cache',
  builder: 'builder',
  secrets: 'secret',
  ssh: 'ssh',
  network: 'network',
  submodules: 'submodules',
  keepGitDir: 'keep-git-dir',
  timeoutSeconds: 'timeout',
  priority: 'priority',
  force: 'force',
  supersede: 'supersede',
  maxImageBytes: 'max-image-size',
  budgetMode: 'budget-mode',
  variants: 'variant'
}

/** A report as the flags that give it. */
const reportText = (report: NonNullable<TriggerBuildOptions['report']>) =>
  [`--report ${report.provider}`, `--report-token ${report.token}`, report.repo ? `--report-repo ${report.repo}` : '', report.context ? `--report-context ${report.context}` : ''].filter(Boolean).join(' ')

/**
 * Build options as the flags that give them ("--image app --build-arg A=1 --no-cache"); an option
 * no flag gives (set over the API) as name=JSON.
 */
export function buildOptionsText (options: TriggerBuildOptions): string {
  return Object.entries(options)
    .flatMap(([option, value]: [string, unknown]) => {
      const flag = FLAG_OF[option as keyof TriggerBuildOptions]
      if (option === 'push') return [value ? '--push' : '--no-push']
      if (option === 'report') return [reportText(value as NonNullable<TriggerBuildOptions['report']>)]
      if (flag === undefined) return [`${option}=${JSON.stringify(value)}`]
      if (value === true) return [`--${flag}`]
      const values = Array.isArray(value) ? value : typeof value === 'object' && value !== null ? Object.entries(value).map(([key, given]) => `${key}=${String(given)}`) : [value]
      return values.map((given) => `--${flag} ${typeof given === 'object' ? JSON.stringify(given) : String(given)}`)
    })
    .join(' ')
}

/** Each value of a repeatable flag parsed as a JSON object; undefined when none were given. */
export function jsonObjects (flag: string, values: string[]): object[] | undefined {
  if (values.length === 0) return undefined
  return values.map((value) => {
    try {
      const parsed = JSON.parse(value) as unknown
      if (typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)) return parsed
    } catch {
      // said below
    }
    throw new UsageError(`--${flag} takes a JSON object, not ${value}`)
  })
}
