import path from 'node:path'
import type { NormalizedRequest } from '../../src/domain/schemas/build.js'
import type { RepoPolicy } from '../../src/domain/builds/repo-url.js'
import type { GitAuth } from './git-credentials.js'
import { cloneSource } from './clone.js'
import { withinCloneLimits, type CloneLimits } from './clone-limits.js'
import { diskTree } from '../../src/build-context/disk-tree.js'
import type { MirrorCache } from './git-mirror.js'
import type { Source } from './source.js'

export interface CheckOutInput {
  request: Pick<NormalizedRequest, 'ref' | 'submodules' | 'keepGitDir'> & { repo: string }
  /** Who reads the commit: the build and attempt. */
  holder: string
  mirrors: MirrorCache
  /** A folder of the build's own, for a checkout when one is needed. */
  workspace: string
  policy: RepoPolicy
  limits: CloneLimits
  git: GitAuth
  /** The build's signal: it ends whatever reads the files too. */
  signal: AbortSignal
  log: (stream: 'stderr' | 'system', text: string) => void
}

/**
 * Gets the commit under the clone limits: into the worker's mirror of the repository, read from
 * there without a checkout; or, when the build needs a working tree (submodules, keepGitDir),
 * cloned and checked out into the build's workspace as `docker build <git URL>` would.
 */
export async function checkOutSource (input: CheckOutInput): Promise<Source> {
  const { request } = input
  if (input.git.note) input.log('system', input.git.note)
  const common = { repo: request.repo, ref: request.ref, policy: input.policy, env: input.git.env, log: input.log }
  if (request.submodules || request.keepGitDir) {
    const dir = path.join(input.workspace, 'src')
    const cloned = await withinCloneLimits(dir, input.limits, input.signal, (signal) => cloneSource({ ...common, dir, submodules: request.submodules, signal }))
    return { ...cloned, revision: cloned.commit, tree: diskTree(dir), release: async () => undefined }
  }
  const gitDir = input.mirrors.mirrorOf(request.repo)
  const checkout = await withinCloneLimits(gitDir, input.limits, input.signal, (signal) =>
    input.mirrors.checkout({ ...common, holder: input.holder, signal, readSignal: input.signal })
  )
  input.log('system', `Reading ${checkout.commit}${checkout.resolvedRef ? ` (${checkout.resolvedRef})` : ''} from the mirror`)
  return { ...checkout, revision: checkout.commit }
}
