import type { RepoPolicy } from '../../src/domain/builds/repo-url.js'
import { BuildFailure } from '../../src/domain/builds/build-failure.js'
import { GitError, runGit } from './git.js'

// Reading one commit from a remote, for a clone, a mirror and a submodule alike: what a ref names
// (from the refs the remote advertises), then the commit alone fetched, under the server's policy.

/** A remote repository to read a ref of, and how: the server's transports, the host's credentials, the build's signal and log. */
export interface RemoteInput {
  repo: string
  /** null: the remote's default branch. */
  ref: string | null
  /** What the server accepts as repositories: it decides git's transports (and checks submodules). */
  policy: RepoPolicy
  /** Credentials for the repository's host, as git's environment. */
  env?: Record<string, string>
  signal: AbortSignal
  log: (stream: 'stderr' | 'system', text: string) => void
}

/** What a ref names, decided from the remote's advertised refs before anything is fetched. */
export type RefTarget =
  | { kind: 'ref'; name: string; sha: string }
  | { kind: 'sha'; sha: string }
  | { kind: 'abbreviated'; prefix: string }

/** Runs git for one repository's work, with the build's transports, credentials, signal and log. */
export type RunGit = (args: string[]) => Promise<string>

export function gitRunner (cwd: string, input: Pick<RemoteInput, 'policy' | 'env' | 'signal' | 'log'>, options: { bare?: boolean } = {}): RunGit {
  return (args) =>
    runGit(args, {
      cwd,
      ...(options.bare ? { gitDir: cwd } : {}),
      signal: input.signal,
      transports: transportsOf(input.policy),
      onStderr: (line) => input.log('stderr', line),
      ...(input.env ? { env: input.env } : {})
    })
}

/** What the ref names in the remote, from its advertised refs; nothing is fetched yet. */
export async function findTarget (git: RunGit, input: Pick<RemoteInput, 'repo' | 'ref' | 'log'>): Promise<RefTarget> {
  input.log('system', `Looking up ${input.ref === null ? 'the default branch' : `'${input.ref}'`} in ${input.repo}`)
  const advertised = await git(['ls-remote', '--symref', '--', input.repo]).catch((error) => {
    throw repositoryFailure(input.repo, error)
  })
  const target = resolveRef(parseLsRemote(advertised), input.ref)
  if (target) return target
  throw new BuildFailure(
    'REF_NOT_FOUND',
    input.ref === null
      ? `${input.repo} has no default branch (is it empty?). Push a commit, or give a ref.`
      : `'${input.ref}' is not a branch, tag or commit of ${input.repo}. Check the spelling, or push it first.`
  )
}

/** A fetched commit: its id, and its time (every file of the context carries it). */
export interface FetchedCommit {
  commit: string
  time: Date
}

/** A commit fetched for a ref, with the full ref it was found under. */
export interface ResolvedCommit extends FetchedCommit {
  /** The full ref that was built, or null when a commit SHA was asked for. */
  resolvedRef: string | null
}

/**
 * Fetches the target's commit into the repository `git` runs in, under each of the refs
 * `destinations`. Branches, tags and full SHAs are fetched shallow; an abbreviated SHA needs the
 * history to be resolved, so it fetches it all.
 */
export async function fetchTarget (git: RunGit, input: Pick<RemoteInput, 'repo' | 'ref' | 'log'>, target: RefTarget, destinations: string[]): Promise<FetchedCommit> {
  const shallow = ['fetch', '--quiet', '--depth=1', '--no-tags', '--no-write-fetch-head', '--', input.repo]
  if (target.kind === 'ref') {
    input.log('system', `Fetching ${target.name} (${target.sha.slice(0, 12)})`)
    await git([...shallow, ...destinations.map((destination) => `+${target.name}:${destination}`)])
  } else if (target.kind === 'sha') {
    input.log('system', `Fetching commit ${target.sha}`)
    // Most servers let a client fetch any commit by id; for those that don't, fetch everything.
    await git([...shallow, ...destinations.map((destination) => `+${target.sha}:${destination}`)]).catch(async () => {
      await fetchEverything(git, input)
      await setRefs(git, input, target, destinations, target.sha)
    })
  } else {
    input.log('system', `Fetching the history to find the commit '${target.prefix}'`)
    await fetchEverything(git, input)
    await setRefs(git, input, target, destinations, target.prefix)
  }
  const [commit, seconds] = (await git(['log', '-1', '--format=%H %ct', destinations[0]!, '--'])).trim().split(' ') as [string, string]
  return { commit, time: new Date(Number(seconds) * 1000) }
}

async function setRefs (git: RunGit, input: Pick<RemoteInput, 'repo' | 'ref'>, target: RefTarget, destinations: string[], revision: string): Promise<void> {
  const commit = await git(['rev-parse', '--verify', '--quiet', '--end-of-options', `${revision}^{commit}`]).catch(() => {
    throw new BuildFailure('REF_NOT_FOUND', refNotFound(input, target))
  })
  for (const destination of destinations) await git(['update-ref', destination, commit.trim()])
}

const transportsOf = (policy: RepoPolicy) => ({ file: policy.allowLocal, http: policy.allowHttp ?? false })

async function fetchEverything (git: RunGit, input: Pick<RemoteInput, 'repo'>): Promise<void> {
  // A shallow repository (a mirror) would keep its shallow boundary and miss older commits.
  const shallow = (await git(['rev-parse', '--is-shallow-repository'])).trim() === 'true'
  await git(['fetch', '--quiet', '--no-tags', ...(shallow ? ['--unshallow'] : []), '--', input.repo, '+refs/heads/*:refs/remotes/origin/*', '+refs/tags/*:refs/tags/*'])
}

function refNotFound (input: Pick<RemoteInput, 'repo' | 'ref'>, target: RefTarget): string {
  return target.kind === 'abbreviated'
    ? `'${target.prefix}' matches no single commit of ${input.repo}: it names none, or more than one. Give more hex digits.`
    : `Commit '${input.ref}' is not in ${input.repo}. Check it was pushed.`
}

/** `git ls-remote --symref` output as ref name → sha, with HEAD's target under `symref:HEAD`. */
export function parseLsRemote (output: string): Map<string, string> {
  const refs = new Map<string, string>()
  for (const line of output.split('\n')) {
    const symref = /^ref: (\S+)\tHEAD$/.exec(line)
    if (symref) {
      refs.set('symref:HEAD', symref[1]!)
      continue
    }
    const [sha, name] = line.split('\t')
    if (sha && name) refs.set(name, sha)
  }
  return refs
}

/**
 * Chooses what to fetch for a ref, following git's own precedence for names (HEAD, an exact full
 * ref, refs/<name>, a tag, a branch); otherwise a full or abbreviated commit SHA.
 */
export function resolveRef (refs: Map<string, string>, ref: string | null): RefTarget | null {
  const found = (name: string): RefTarget | null => {
    const sha = refs.get(`${name}^{}`) ?? refs.get(name)
    return sha ? { kind: 'ref', name, sha } : null
  }
  if (ref === null || ref === 'HEAD') {
    const head = refs.get('symref:HEAD')
    return head ? found(head) : null
  }
  const named =
    (ref.startsWith('refs/') ? found(ref) : null) ?? found(`refs/${ref}`) ?? found(`refs/tags/${ref}`) ?? found(`refs/heads/${ref}`)
  if (named) return named
  if (/^[0-9a-f]{40}$/i.test(ref)) return { kind: 'sha', sha: ref.toLowerCase() }
  if (/^[0-9a-f]{7,39}$/i.test(ref)) return { kind: 'abbreviated', prefix: ref.toLowerCase() }
  return null
}

/** A failure of git to read a repository, as a BuildFailure that names it; other errors as they are. */
export function repositoryFailure (repo: string, error: unknown): unknown {
  if (!(error instanceof GitError)) return error
  const reason = error.stderrTail.split('\n').filter(Boolean).pop() ?? `git exited with ${error.exitCode}`
  if (/not found|does not exist|does not appear to be a git repository|Permission denied|Authentication failed|could not read Username/i.test(error.stderrTail)) {
    return new BuildFailure(
      'REPO_NOT_FOUND',
      `${repo} has no repository Slipway can read (${reason}). Check the URL; for a private repository, give the worker credentials.`
    )
  }
  return new BuildFailure('REPO_UNREACHABLE', `${repo} could not be reached (${reason}). Check the URL and the network.`)
}
