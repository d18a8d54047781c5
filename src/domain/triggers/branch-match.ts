import picomatch from 'picomatch'

const BRANCH_REF = 'refs/heads/'

/** The branch a pushed ref names ("refs/heads/release/1.2" → "release/1.2"), or null for a tag or any other ref. */
export function branchOf (ref: string): string | null {
  return ref.startsWith(BRANCH_REF) && ref.length > BRANCH_REF.length ? ref.slice(BRANCH_REF.length) : null
}

/**
 * Whether a branch matches any of a rule's glob patterns, read as paths: "*" stops at "/", so
 * "release/*" takes "release/1.2" but not "release/1.2/hotfix", which "release/**" takes.
 */
export function branchMatches (patterns: readonly string[], branch: string): boolean {
  // A branch is never a path on disk: no "./" trimming, and a dot is an ordinary character.
  return picomatch(patterns as string[], { dot: true })(branch)
}
