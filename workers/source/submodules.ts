import { realpath } from 'node:fs/promises'
import path from 'node:path'
import { parseRepoUrl, printable, type RepoPolicy } from '../../src/domain/builds/repo-url.js'
import { BuildFailure } from '../../src/domain/builds/build-failure.js'
import { GitError } from './git.js'
import { fetchTarget, gitRunner, repositoryFailure, type RemoteInput, type RunGit } from './git-fetch.js'

/*
 * Submodules are fetched by Slipway itself, never by `git submodule`, which takes what to run from
 * the repository (`update = !command`, or the config of a committed folder laid out as a
 * repository). Only the commit's own objects are believed: its .gitmodules blob (never a file of
 * the checkout, which could be a link) names each submodule's path and URL; the commit's tree must
 * record a gitlink at that path; and the folder must resolve, links and all, to inside the clone.
 * Each submodule then becomes a repository of its own in its folder, with the gitlink's commit
 * fetched from its policy-checked URL and checked out.
 */

// Submodules of submodules are fetched too, this deep at most.
const SUBMODULE_DEPTH = 3
const GITLINK = '160000'
const REGULAR_FILE = /^100(644|755)$/

/** A checked-out repository whose submodules are to be fetched. */
export interface Superproject {
  dir: string
  /** Its folder within the clone, for the log: '' for the repository itself. */
  path: string
  /** Where it was fetched from: relative submodule URLs resolve against it. */
  url: string
  commit: string
}

interface Submodule {
  /** Its folder within the superproject. */
  where: string
  /** Its folder within the clone. */
  path: string
  url: string
  commit: string
}

type Input = Pick<RemoteInput, 'policy' | 'env' | 'signal' | 'log'> & {
  /** The clone: every submodule's folder must resolve to inside it. */
  dir: string
}

export async function fetchSubmodules (parent: Superproject, input: Input, depth = 0): Promise<void> {
  if (depth >= SUBMODULE_DEPTH) return
  const submodules = await submodulesOf(parent, input)
  const clone = await realpath(input.dir)
  for (const submodule of submodules) {
    const dir = await folderInside(clone, path.join(parent.dir, submodule.where), submodule.path)
    input.log('system', `Fetching submodule '${printable(submodule.path)}' from ${submodule.url}`)
    await fetchSubmodule(dir, submodule, input)
    await fetchSubmodules({ dir, path: submodule.path, url: submodule.url, commit: submodule.commit }, input, depth + 1)
  }
}

/**
 * The submodules .gitmodules declares at paths where the commit records a gitlink, each URL
 * resolved and checked against the policy before any is fetched. Other entries are logged and left
 * alone, as git leaves them.
 */
async function submodulesOf (parent: Superproject, input: Input): Promise<Submodule[]> {
  const git = gitRunner(parent.dir, input)
  const declared = await declaredSubmodules(git, parent.commit)
  const entries = await treeEntries(git, parent.commit, [...declared.keys()].filter(isTreePath))
  const submodules: Submodule[] = []
  for (const [where, url] of declared) {
    const inClone = parent.path ? `${parent.path}/${where}` : where
    const shown = printable(inClone)
    const gitlink = entries.get(where)
    if (!isTreePath(where) || gitlink?.mode !== GITLINK) {
      input.log('system', `.gitmodules names '${shown}', which is not a submodule in the commit (no gitlink there): not followed`)
    } else if (url === undefined) {
      input.log('system', `.gitmodules gives the submodule '${shown}' no URL: left empty`)
    } else {
      submodules.push({ where, path: inClone, url: checkedUrl(url, parent.url, input.policy), commit: gitlink.object })
    }
  }
  return submodules
}

/** The path → URL of each `submodule.<name>` in the commit's .gitmodules blob, the first name for a path winning. */
async function declaredSubmodules (git: RunGit, commit: string): Promise<Map<string, string | undefined>> {
  const blob = (await treeEntries(git, commit, ['.gitmodules'])).get('.gitmodules')
  // git reads no .gitmodules that is not a regular file (a link, a folder); nor does Slipway.
  if (!blob || !REGULAR_FILE.test(blob.mode)) return new Map()
  const listed = await git(['config', '--blob', blob.object, '--no-includes', '-z', '--get-regexp', '^submodule\\..*\\.(path|url)$']).catch((error: unknown) => {
    if (error instanceof GitError && error.exitCode === 1) return '' // no such keys
    throw error
  })
  const byName = new Map<string, { path?: string; url?: string }>()
  for (const item of listed.split('\0').filter(Boolean)) {
    const [key, value] = splitOnce(item, '\n')
    const dot = key.lastIndexOf('.')
    const name = key.slice('submodule.'.length, dot)
    const entry = byName.get(name) ?? {}
    if (key.slice(dot + 1) === 'path') entry.path = value
    else entry.url = value
    byName.set(name, entry)
  }
  const byPath = new Map<string, string | undefined>()
  for (const entry of byName.values()) {
    if (entry.path !== undefined && !byPath.has(entry.path)) byPath.set(entry.path, entry.url)
  }
  return byPath
}

/** The commit's tree entries at exactly these paths (literal: no pathspec magic), by path. */
async function treeEntries (git: RunGit, commit: string, paths: string[]): Promise<Map<string, { mode: string; object: string }>> {
  const entries = new Map<string, { mode: string; object: string }>()
  if (paths.length === 0) return entries
  const listed = await git(['--literal-pathspecs', 'ls-tree', '-z', commit, '--', ...paths])
  for (const line of listed.split('\0').filter(Boolean)) {
    // "<mode> <type> <object>\t<path>"
    const [meta, where = ''] = splitOnce(line, '\t')
    const [mode = '', , object = ''] = meta.split(' ')
    // A crafted tree can record a path twice (a gitlink and a link); git's own lookups take the first.
    if (!entries.has(where)) entries.set(where, { mode, object })
  }
  return entries
}

/** git's rule for a path in a tree: relative, with no empty, ".", ".." or ".git" segment. */
function isTreePath (where: string): boolean {
  return where.split('/').every((segment) => segment !== '' && segment !== '.' && segment !== '..' && segment.toLowerCase() !== '.git')
}

/** The submodule's URL, a relative one resolved, in the form the policy lets git fetch; SUBMODULE_REFUSED otherwise. */
function checkedUrl (url: string, parentUrl: string, policy: RepoPolicy): string {
  try {
    return parseRepoUrl(resolveSubmoduleUrl(url, parentUrl), policy).url
  } catch (error) {
    throw new BuildFailure('SUBMODULE_REFUSED', `A submodule's URL is refused: ${(error as Error).message}`)
  }
}

/**
 * A submodule URL as git resolves it (`relative_url` in git): "./" and "../" are relative to the
 * parent's URL, each "../" taking off its last "/" segment or, once none is left, the path of an
 * scp-like "host:path".
 */
export function resolveSubmoduleUrl (url: string, parentUrl: string): string {
  let rest = url
  if (!rest.startsWith('./') && !rest.startsWith('../')) return rest
  let base = parentUrl.endsWith('/') ? parentUrl.slice(0, -1) : parentUrl
  let separator = '/'
  for (;;) {
    if (rest.startsWith('../')) {
      rest = rest.slice(3)
      const cut = base.includes('/') ? base.lastIndexOf('/') : base.lastIndexOf(':')
      if (cut === -1) throw new BuildFailure('SUBMODULE_REFUSED', `The submodule URL '${url}' climbs above ${parentUrl}.`)
      if (base[cut] === ':') separator = ':'
      base = base.slice(0, cut)
    } else if (rest.startsWith('./')) {
      rest = rest.slice(2)
    } else {
      break
    }
  }
  const joined = `${base}${separator}${rest}`
  return rest.endsWith('/') ? joined.slice(0, -1) : joined
}

/** The submodule's folder, links resolved; SUBMODULE_REFUSED unless it is strictly inside the clone. */
async function folderInside (clone: string, folder: string, submodulePath: string): Promise<string> {
  const real = await realpath(folder).catch(() => null)
  if (real !== null && isStrictlyInside(clone, real)) return real
  throw new BuildFailure('SUBMODULE_REFUSED', `The submodule '${printable(submodulePath)}' does not resolve to a folder inside the checkout (a link on its path leads elsewhere); it is not fetched.`)
}

function isStrictlyInside (root: string, file: string): boolean {
  const relative = path.relative(root, file)
  return relative !== '' && relative !== '..' && !relative.startsWith(`..${path.sep}`) && !path.isAbsolute(relative)
}

/** Makes `dir` a repository of its own holding the gitlink's commit, checked out. */
async function fetchSubmodule (dir: string, submodule: Submodule, input: Input): Promise<void> {
  const git = gitRunner(dir, input)
  await git(['init', '--quiet'])
  const source = { repo: submodule.url, ref: submodule.commit, log: input.log }
  await fetchTarget(git, source, { kind: 'sha', sha: submodule.commit }, ['refs/slipway/build']).catch((error: unknown) => {
    throw repositoryFailure(submodule.url, error)
  })
  await git(['checkout', '--quiet', '--detach', submodule.commit, '--'])
}

function splitOnce (text: string, separator: string): [string, string | undefined] {
  const at = text.indexOf(separator)
  return at === -1 ? [text, undefined] : [text.slice(0, at), text.slice(at + 1)]
}
