import { mkdir } from 'node:fs/promises'
import { fetchTarget, findTarget, gitRunner, type RemoteInput, type ResolvedCommit } from './git-fetch.js'
import { fetchSubmodules } from './submodules.js'

export interface CloneInput extends RemoteInput {
  /** An empty folder to check the commit out into. */
  dir: string
  /** Fetch the commit's submodules too (see submodules.ts), each URL checked against the policy first. */
  submodules?: boolean
}

/**
 * Fetches just the commit to build into `dir` and checks it out: for builds that need a working
 * tree (submodules, keepGitDir). Others read the commit from the worker's mirror of the repository.
 */
export async function cloneSource (input: CloneInput): Promise<ResolvedCommit> {
  await mkdir(input.dir, { recursive: true })
  const git = gitRunner(input.dir, input)
  await git(['init', '--quiet'])
  // The checkout names where it came from, as a clone would (a keepGitDir image carries it).
  await git(['config', 'remote.origin.url', input.repo])
  const target = await findTarget(git, input)
  const { commit, time } = await fetchTarget(git, input, target, ['refs/slipway/build'])
  await git(['checkout', '--quiet', '--detach', commit, '--'])
  if (input.submodules) await fetchSubmodules({ dir: input.dir, path: '', url: input.repo, commit }, input)
  const resolvedRef = target.kind === 'ref' ? target.name : null
  input.log('system', `Checked out ${commit}${resolvedRef ? ` (${resolvedRef})` : ''}`)
  return { commit, time, resolvedRef }
}
