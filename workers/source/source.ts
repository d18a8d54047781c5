import type { SourceTree } from '../../src/build-context/source-tree.js'

/** The files to build, a commit's (cloned, or read from the mirror) or an upload's, to read the context from. */
export interface Source {
  /** The commit built; null for an upload. */
  commit: string | null
  /** What names these files exactly: the commit, or an upload's sha256. Identical builds share it. */
  revision: string
  /** Every file of the context carries this time: the commit's, or the newest in an upload. */
  time: Date
  /** The full ref that was built, or null when a commit SHA was asked for (or for an upload). */
  resolvedRef: string | null
  tree: SourceTree
  /** Done reading the files. */
  release(): Promise<void>
}
