import type { Build, BuildRequest } from '../../domain/schemas/build.js'
import { byteSize, COMMON_FLAGS, keyValues, seconds, type CommandSpec, type Parsed } from '../args.js'
import { EXIT, UsageError, type ExitCode } from '../exit-codes.js'
import { formatBytes } from '../../domain/format.js'
import { packDir } from '../pack-dir.js'
import { announce, apiOf, print, watch } from './shared.js'

export const FOLLOW_FLAG = { name: 'follow', short: 'f', help: 'Stream the log until the build ends, print the image, exit with the outcome' }

export const submitSpec: CommandSpec = {
  name: 'submit',
  usage: 'submit (--repo URL | --dir PATH) [options]',
  summary: 'Submit a build of a git repository, or of a local folder uploaded as it is.',
  description: `
Prints the build's id (or, with --json, the build). With --follow it streams the build's log (a
live status line on a terminal, plain lines otherwise), prints the image's digest and size, the
advisor's largest finding and how much came from the layer cache (with the first step that did
not, and why), and exits 0 only if the build succeeded.

--dir uploads the folder as a gzipped tar, as a CI runner holding the checkout would: .git and
what the folder's .dockerignore excludes stay behind; a symlink leading out of the folder is refused.
--context and --dockerfile are then relative to the folder.

Examples:
  slipway submit --repo https://github.com/acme/app.git --ref v1.4.0 --image registry.example.com/acme/app --follow
  slipway submit --dir . --image registry.example.com/acme/app --tag "$CI_COMMIT_SHA" --build-arg NODE_ENV=production -f
  slipway submit --repo https://github.com/acme/app.git --secret npm --ssh default -f`,
  flags: [
    { name: 'repo', value: 'URL', help: 'Git repository to build (https://, ssh:// or user@host:path)' },
    { name: 'dir', value: 'PATH', help: 'Local folder to upload and build instead of a repository' },
    { name: 'ref', value: 'REF', help: "Branch, tag or commit to build (--repo only; default: the remote's default branch)" },
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
    { name: 'webhook', value: 'URL|JSON', multiple: true, help: 'A receiver of this build\'s events: a URL, or \'{"url":…,"events":[…],"format":…}\'' },
    { name: 'idempotency-key', value: 'KEY', help: 'Makes sending this submit again (after a timeout) return the same build' },
    FOLLOW_FLAG,
    ...COMMON_FLAGS
  ]
}

// Flags that name git things, which an uploaded folder does not have.
const REPO_ONLY = ['ref', 'submodules', 'keep-git-dir']

export async function submit (parsed: Parsed): Promise<ExitCode> {
  const repo = parsed.string('repo')
  const dir = parsed.string('dir')
  if ((repo === undefined) === (dir === undefined)) throw new UsageError('slipway submit needs one of --repo URL or --dir PATH. See `slipway submit --help`.')
  if (dir !== undefined) {
    const misplaced = REPO_ONLY.filter((flag) => parsed.has(flag))
    if (misplaced.length > 0) {
      throw new UsageError(`${misplaced.map((flag) => `--${flag}`).join(', ')} ${misplaced.length === 1 ? 'is' : 'are'} for --repo only: an uploaded folder has no git history.`)
    }
  }
  const options = buildOptions(parsed)
  const api = apiOf(parsed)
  const key = parsed.string('idempotency-key')
  const headers: Record<string, string> = key === undefined ? {} : { 'idempotency-key': key }

  let response: Response
  if (repo !== undefined) {
    response = await api.send('POST', 'v1/builds', { json: { repo, ref: parsed.string('ref'), ...options }, headers })
  } else {
    // Stops reading the folder once the server has answered (early, when it refuses the upload).
    const reading = new AbortController()
    const packed = await packDir(dir!, {
      context: options.context,
      dockerfile: options.dockerfile,
      variantDockerfiles: options.variants?.flatMap((variant) => variant.dockerfile ?? []),
      signal: reading.signal
    })
    process.stderr.write(`slipway: uploading ${dir}: ${packed.files} files, ${formatBytes(packed.bytes)} before compression\n`)
    try {
      response = await api.send('POST', 'v1/builds', { body: packed.archive, contentType: 'application/gzip', query: { options: JSON.stringify(options) }, headers })
    } finally {
      reading.abort()
      packed.archive.destroy()
    }
  }
  const build = (await response.json()) as Build
  if (!parsed.has('follow')) {
    announce(build, `${build.status}; \`slipway logs -f ${build.id}\` follows it`, response.headers)
    print(parsed, build, `${build.id}\n`)
    return EXIT.ok
  }
  announce(build, `${build.status}; following its log (Ctrl-C stops following, not the build)`, response.headers)
  return watch(api, build, parsed)
}

/** The build options the flags give, as POST /v1/builds names them; absent flags are left to the server's defaults. */
function buildOptions (parsed: Parsed): Omit<BuildRequest, 'repo' | 'ref'> {
  if (parsed.has('push') && parsed.has('no-push')) throw new UsageError('--push and --no-push contradict each other; give one.')
  const options: Omit<BuildRequest, 'repo' | 'ref'> = {
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
    webhooks: jsonObjects('webhook', parsed.strings('webhook').map((value) => (value.trimStart().startsWith('{') ? value : JSON.stringify({ url: value })))) as BuildRequest['webhooks']
  }
  return Object.fromEntries(Object.entries(options).filter(([, value]) => value !== undefined))
}

function jsonObjects (flag: string, values: string[]): object[] | undefined {
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
