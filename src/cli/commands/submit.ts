import type { Build, BuildRequest } from '../../domain/schemas/build.js'
import { COMMON_FLAGS, type CommandSpec, type Parsed } from '../args.js'
import { EXIT, UsageError, type ExitCode } from '../exit-codes.js'
import { formatBytes } from '../../domain/format.js'
import { packDir } from '../pack-dir.js'
import { BUILD_OPTION_FLAGS, buildOptions, jsonObjects } from './build-options.js'
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
    ...BUILD_OPTION_FLAGS,
    { name: 'webhook', value: 'URL|JSON', multiple: true, help: 'A receiver of this build\'s events: a URL, or \'{"url":…,"events":[…],"format":…}\'' },
    { name: 'idempotency-key', value: 'KEY', help: 'Makes sending this submit again (after a timeout) return the same build' },
    FOLLOW_FLAG,
    ...COMMON_FLAGS
  ]
}

// Flags that name git things (a report names a commit on a forge), which an uploaded folder does not have.
const REPO_ONLY = ['ref', 'submodules', 'keep-git-dir', 'report']

export async function submit (parsed: Parsed): Promise<ExitCode> {
  const repo = parsed.string('repo')
  const dir = parsed.string('dir')
  if ((repo === undefined) === (dir === undefined)) throw new UsageError('submit needs one of --repo URL or --dir PATH. See `slipway submit --help`.')
  if (dir !== undefined) {
    const misplaced = REPO_ONLY.filter((flag) => parsed.has(flag))
    if (misplaced.length > 0) {
      throw new UsageError(`${misplaced.map((flag) => `--${flag}`).join(', ')} ${misplaced.length === 1 ? 'is' : 'are'} for --repo only: an uploaded folder has no git history.`)
    }
  }
  const webhooks = jsonObjects('webhook', parsed.strings('webhook').map((value) => (value.trimStart().startsWith('{') ? value : JSON.stringify({ url: value })))) as BuildRequest['webhooks']
  // Receivers of this build's events alone: the one option of a build that a trigger rule's builds do not take.
  const options: Omit<BuildRequest, 'repo' | 'ref'> = { ...buildOptions(parsed), ...(webhooks ? { webhooks } : {}) }
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
