import { createHash } from 'node:crypto'
import { mkdir, readdir, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises'
import path from 'node:path'
import lockfile from 'proper-lockfile'
import { repoKey } from '../../src/domain/builds/repo-url.js'
import { GitError } from './git.js'
import { fetchTarget, findTarget, gitRunner, type FetchedCommit, type RefTarget, type RemoteInput, type ResolvedCommit, type RunGit } from './git-fetch.js'
import { gitTree, MirrorDamaged, type GitTree } from './git-tree.js'

export interface MirrorSettings {
  /** Where the mirrors live; shared by the workers of one host. */
  dir: string
  /** The mirrors together stay under this; the least recently used go first. */
  maxBytes: number
  /** A hold older than this is a dead worker's, and no longer keeps its mirror from being evicted. */
  holdMaxMs: number
}

export interface MirrorCheckout extends ResolvedCommit {
  tree: GitTree
  /** Done with the commit: lets go of the tree and of the mirror's hold on its objects. */
  release(): Promise<void>
}

type MirrorInput = RemoteInput & {
  /** Who holds the commit while building it (build id and attempt): its ref keeps git's gc off it. */
  holder: string
  /** Ends the git processes that read the tree (the fetch has `signal`, with the clone's limits). */
  readSignal: AbortSignal
}

// A lock older than this is a dead process's: git fetches that take longer refresh it.
const LOCK_STALE_MS = 60_000
const SIZE_FILE = 'slipway-size'
// A build's hold on a mirror is a ref (so git's gc keeps its objects) and a file (whose age says
// whether the hold is still alive).
const HOLDER_REFS = 'refs/slipway/holders/'
const HOLDER_FILES = 'slipway-holders'

/**
 * A bare mirror of each repository on this worker host. A build fetches only its commit into the
 * mirror (after the first, that is the objects of the new commits alone) and reads the tree
 * straight from it, so nothing is checked out. Fetches into one mirror take turns, through a lock
 * that works across the host's worker processes; readers never wait. A mirror that git finds
 * damaged is removed and fetched again; the least recently used go when the total passes maxBytes.
 */
export class MirrorCache {
  // One fetch at a time per mirror within this process; the lock file orders processes.
  private readonly turns = new Map<string, Promise<unknown>>()

  constructor (private readonly settings: MirrorSettings) {}

  async checkout (input: MirrorInput): Promise<MirrorCheckout> {
    await mkdir(this.settings.dir, { recursive: true })
    const target = await findTarget(gitRunner(this.settings.dir, input), input)
    const gitDir = this.mirrorOf(input.repo)
    const holderRef = `${HOLDER_REFS}${input.holder}`
    const holderFile = path.join(gitDir, HOLDER_FILES, input.holder)
    const { fetched, tree } = await this.inTurn(gitDir, async () => {
      try {
        return await this.fetchInto(gitDir, input, target, holderRef, holderFile)
      } catch (error) {
        if (!(await isDamaged(gitDir, error, input.signal))) throw error
        input.log('system', `The mirror of ${input.repo} is damaged (${(error as Error).message.split('\n')[0]}); fetching it again`)
        await rm(gitDir, { recursive: true, force: true })
        return this.fetchInto(gitDir, input, target, holderRef, holderFile)
      }
    })
    return {
      ...fetched,
      resolvedRef: target.kind === 'ref' ? target.name : null,
      tree,
      release: async () => {
        await tree.close()
        await this.inTurn(gitDir, async () => {
          // A damaged object shows only when read: then the mirror goes, and the next build fetches it anew.
          if (tree.damaged()) return rm(gitDir, { recursive: true, force: true })
          await localGit(gitDir)(['update-ref', '-d', holderRef]).catch(() => undefined)
          await rm(holderFile, { force: true })
          await recordSize(localGit(gitDir), gitDir)
        })
        await this.evict(gitDir).catch(() => undefined)
      }
    }
  }

  /** The mirror's folder: named by the repository's key, so one repository has one mirror. */
  mirrorOf (repo: string): string {
    return path.join(this.settings.dir, `${createHash('sha256').update(repoKey(repo)).digest('hex').slice(0, 32)}.git`)
  }

  private async fetchInto (gitDir: string, input: MirrorInput, target: RefTarget, holderRef: string, holderFile: string): Promise<{ fetched: FetchedCommit; tree: GitTree }> {
    const git = gitRunner(gitDir, input, { bare: true })
    if (!(await exists(path.join(gitDir, 'HEAD')))) {
      await mkdir(gitDir, { recursive: true })
      await git(['init', '--bare', '--quiet'])
      // Which repository this is, for a person looking at the folder.
      await git(['config', 'slipway.repo', input.repo])
    }
    await mkdir(path.dirname(holderFile), { recursive: true })
    await writeFile(holderFile, '')
    // Besides the hold, the mirror's own ref for what was fetched: the next fetch tells the remote
    // it has this, and gets back only what is new. (Without it the mirror would have no refs.)
    const fetched = await fetchTarget(git, input, target, [holderRef, `refs/mirror/${target.kind === 'ref' ? target.name : 'pinned'}`])
    return { fetched, tree: await gitTree(gitDir, fetched.commit, input.readSignal) }
  }

  /** Runs `task` when no other fetch into this mirror runs, in this process or another on the host. */
  private inTurn<T>(gitDir: string, task: () => Promise<T>): Promise<T> {
    const run = (this.turns.get(gitDir) ?? Promise.resolve()).then(async () => {
      const release = await lockfile.lock(gitDir, {
        realpath: false,
        lockfilePath: `${gitDir}.lock`,
        stale: LOCK_STALE_MS,
        retries: { retries: 2000, factor: 1.2, minTimeout: 10, maxTimeout: 200 }
      })
      try {
        return await task()
      } finally {
        await release().catch(() => undefined)
      }
    })
    const settled = run.catch(() => undefined)
    this.turns.set(gitDir, settled)
    void settled.then(() => this.turns.get(gitDir) === settled && this.turns.delete(gitDir))
    return run
  }

  /** Removes the least recently used mirrors until all of them fit; never one that is held or being fetched. */
  private async evict (current: string): Promise<void> {
    const mirrors = await this.mirrors()
    let total = mirrors.reduce((sum, mirror) => sum + mirror.bytes, 0)
    for (const mirror of mirrors.sort((a, b) => a.usedAt - b.usedAt)) {
      if (total <= this.settings.maxBytes) return
      if (mirror.gitDir === current) continue
      const release = await lockfile.lock(mirror.gitDir, { realpath: false, lockfilePath: `${mirror.gitDir}.lock`, stale: LOCK_STALE_MS }).catch(() => null)
      if (!release) continue
      try {
        if (await this.isHeld(mirror.gitDir)) continue
        await rm(mirror.gitDir, { recursive: true, force: true })
        total -= mirror.bytes
      } finally {
        await release().catch(() => undefined)
      }
    }
  }

  /** How many mirrors this cache keeps, and their bytes on disk (as each was last measured). */
  async usage (): Promise<{ count: number; bytes: number }> {
    const mirrors = await this.mirrors().catch(() => [])
    return { count: mirrors.length, bytes: mirrors.reduce((sum, mirror) => sum + mirror.bytes, 0) }
  }

  private async isHeld (gitDir: string): Promise<boolean> {
    const folder = path.join(gitDir, HOLDER_FILES)
    const holds = await readdir(folder).catch(() => [])
    const ages = await Promise.all(holds.map((hold) => stat(path.join(folder, hold)).then((info) => Date.now() - info.mtimeMs, () => Infinity)))
    return ages.some((age) => age < this.settings.holdMaxMs)
  }

  private async mirrors (): Promise<{ gitDir: string; bytes: number; usedAt: number }[]> {
    const names = (await readdir(this.settings.dir)).filter((name) => name.endsWith('.git'))
    const found = await Promise.all(
      names.map(async (name) => {
        const gitDir = path.join(this.settings.dir, name)
        const sizeFile = path.join(gitDir, SIZE_FILE)
        const [text, info] = await Promise.all([readFile(sizeFile, 'utf8').catch(() => null), stat(sizeFile).catch(() => null)])
        return text === null || info === null ? null : { gitDir, bytes: Number(text) || 0, usedAt: info.mtimeMs }
      })
    )
    return found.filter((mirror) => mirror !== null)
  }
}

/**
 * Writes the mirror's size on disk next to it (read back cheaply when evicting), as a build lets
 * go of it; the file's modification time is when the mirror was last used.
 */
async function recordSize (git: RunGit, gitDir: string): Promise<void> {
  const counts = Object.fromEntries(
    (await git(['count-objects', '-v'])).split('\n').map((line) => line.split(': ') as [string, string])
  ) as Record<string, string | undefined>
  const kib = ['size', 'size-pack', 'size-garbage'].reduce((sum, key) => sum + (Number(counts[key]) || 0), 0)
  const file = path.join(gitDir, SIZE_FILE)
  await writeFile(file, String(kib * 1024))
  const now = new Date()
  await utimes(file, now, now)
}

// What git says when its own object store, not the remote, is at fault.
const DAMAGE = /corrupt|object file .* is empty|bad object|unable to read|inflate|packfile .* cannot be accessed|not a git repository|invalid (sha1 pointer|object|HEAD)|broken link|missing (blob|tree|commit)/i

/**
 * Whether a failure while fetching into or reading a mirror is the mirror's own fault: git says an
 * object or the repository is broken, or `git fsck` finds it so. A failure of the remote
 * (unreachable, ref gone) is not.
 */
async function isDamaged (gitDir: string, error: unknown, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return false
  if (error instanceof MirrorDamaged) return true
  if (!(error instanceof GitError)) return false
  if (DAMAGE.test(error.stderrTail) || !(await exists(path.join(gitDir, 'HEAD')))) return true
  return localGit(gitDir)(['fsck', '--connectivity-only', '--no-dangling', '--no-progress']).then(
    () => false,
    () => true
  )
}

/** git on the mirror itself, no remote involved. */
function localGit (gitDir: string): RunGit {
  return gitRunner(gitDir, { policy: { allowLocal: false }, signal: AbortSignal.timeout(60_000), log: () => undefined }, { bare: true })
}

const exists = (file: string) => stat(file).then(() => true, () => false)
