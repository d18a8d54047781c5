import path from 'node:path'
import type { Writable } from 'node:stream'

/**
 * The files of the commit being built, wherever they are: objects in a git mirror (the usual way,
 * nothing checked out) or a checkout on disk (for submodules and keepGitDir). The context phase
 * reads either through this, so both follow the same rules.
 */
export interface SourceTree {
  /** The entry at `relative` ('' is the root), without following a symlink at the end; null when there is none. */
  entry(relative: string): Promise<TreeEntry | null>
  /** The entries of a folder, sorted by name as Docker walks them. */
  children(dir: string): Promise<TreeEntry[]>
  /** A small file's whole content (a Dockerfile, a .dockerignore). */
  read(entry: TreeEntry): Promise<Buffer>
  /** Streams a file's content into `into`, ends it, and resolves once `into` has taken all of it. */
  copy(entry: TreeEntry, into: Writable, signal: AbortSignal): Promise<void>
  /** Ends what the tree keeps open (a git process). */
  close(): Promise<void>
}

export interface TreeEntry {
  /** '/'-separated, relative to the root of the repository. */
  path: string
  type: 'file' | 'directory' | 'symlink'
  mode: number
  /** A file's bytes; 0 for the others. */
  size: number
  /** A symlink's target, as written. */
  linkname?: string
  /** What the tree knows of a file's content without reading it (git's blob id); absent on disk. */
  contentId?: string
}

// Linux gives up after 40 links in one path (ELOOP); so do we.
const MAX_LINKS = 40

/**
 * Where `relative` leads inside the tree, following symlinks as the kernel would, or null when it
 * does not exist or leads outside the repository (an absolute target, or one climbing out).
 */
export async function resolveInTree (tree: SourceTree, relative: string): Promise<TreeEntry | null> {
  let pending = relative.split('/').filter((part) => part && part !== '.')
  let resolved: string[] = []
  let links = 0
  while (pending.length > 0) {
    const part = pending.shift()!
    if (part === '..') {
      if (resolved.length === 0) return null
      resolved.pop()
      continue
    }
    const current = [...resolved, part].join('/')
    const found = await tree.entry(current)
    if (!found) return null
    if (found.type === 'symlink') {
      if (++links > MAX_LINKS || found.linkname === undefined || path.posix.isAbsolute(found.linkname)) return null
      pending = [...found.linkname.split('/').filter((piece) => piece && piece !== '.'), ...pending]
      continue
    }
    if (found.type !== 'directory' && pending.length > 0) return null
    resolved = [...resolved, part]
  }
  return tree.entry(resolved.join('/'))
}
