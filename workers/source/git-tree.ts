import { Readable, type Writable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { GitError, spawnGit, type GitOptions } from './git.js'
import type { SourceTree, TreeEntry } from '../../src/build-context/source-tree.js'

/** A git object store could not give what its tree names: the mirror is damaged. */
export class MirrorDamaged extends Error {
  override name = 'MirrorDamaged'
}

/**
 * A commit's tree, read from the objects of a (bare) git repository, with nothing checked out:
 * `git ls-tree` lists it once, and one `git cat-file --batch` process streams every file's
 * content as the context is packed. Every blob is checked to be there before anything is built,
 * so a damaged mirror is found while it can still be rebuilt.
 */
export interface GitTree extends SourceTree {
  /** Reading an object failed on git's side while packing: the mirror should not be trusted again. */
  damaged(): boolean
}

export async function gitTree (gitDir: string, commit: string, signal: AbortSignal): Promise<GitTree> {
  const options: GitOptions = { cwd: gitDir, gitDir, signal, transports: { file: false, http: false } }
  const listing = await listTree(commit, options)
  const batch = new CatFileBatch(options)
  try {
    await checkBlobs([...listing.objects.values()], options)
    for (const entry of listing.byPath.values()) {
      if (entry.type === 'symlink') entry.linkname = (await batch.read(listing.objects.get(entry.path)!)).toString('utf8')
    }
  } catch (error) {
    await batch.close()
    throw error
  }
  const objectOf = (entry: TreeEntry) => listing.objects.get(entry.path)!
  return {
    entry: async (relative) => listing.byPath.get(relative) ?? null,
    children: async (dir) => listing.children.get(dir) ?? [],
    read: (entry) => batch.read(objectOf(entry)),
    copy: (entry, into, copySignal) => batch.copy(objectOf(entry), into, copySignal),
    close: () => batch.close(),
    damaged: () => batch.damaged
  }
}

interface Listing {
  byPath: Map<string, TreeEntry>
  children: Map<string, TreeEntry[]>
  /** The blob behind each file and symlink. */
  objects: Map<string, string>
}

/** `git ls-tree -r -t -l -z` of the commit, read as it streams (a large tree is not held as text). */
async function listTree (commit: string, options: GitOptions): Promise<Listing> {
  const root: TreeEntry = { path: '', type: 'directory', mode: 0o755, size: 0 }
  const listing: Listing = { byPath: new Map([['', root]]), children: new Map([['', []]]), objects: new Map() }
  const child = spawnGit(['ls-tree', '-r', '-t', '-l', '-z', '--full-tree', commit], options)
  let stderr = ''
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr = (stderr + chunk).slice(-2000)))
  const exited = new Promise<number | null>((resolve, reject) => child.on('error', reject).on('close', resolve))
  let pending = ''
  for await (const chunk of child.stdout.setEncoding('utf8') as AsyncIterable<string>) {
    const records = (pending + chunk).split('\0')
    pending = records.pop()!
    for (const record of records) addRecord(listing, record)
  }
  const code = await exited
  if (code !== 0) throw new MirrorDamaged(`git ls-tree ${commit} failed (${code}): ${stderr.trim()}`)
  for (const entries of listing.children.values()) entries.sort((a, b) => (a.path < b.path ? -1 : 1))
  return listing
}

// "<mode> <type> <object> <size>\t<path>"; size is "-" for trees and submodules.
function addRecord (listing: Listing, record: string): void {
  const match = /^(\d{6}) (\w+) ([0-9a-f]+) +(\d+|-)\t(.*)$/s.exec(record)
  if (!match) return
  const [, mode, kind, object, size, path] = match as unknown as [string, string, string, string, string, string]
  // Besides blobs, a tree, or a submodule's commit: a checkout has a folder there (empty for a submodule).
  const entry: TreeEntry =
    kind === 'blob' && mode === '120000'
      ? { path, type: 'symlink', mode: 0o777, size: 0, contentId: object }
      : kind === 'blob'
        ? { path, type: 'file', mode: mode === '100755' ? 0o755 : 0o644, size: Number(size), contentId: object }
        : { path, type: 'directory', mode: 0o755, size: 0 }
  if (kind === 'blob') listing.objects.set(path, object)
  listing.byPath.set(path, entry)
  if (entry.type === 'directory') listing.children.set(path, listing.children.get(path) ?? [])
  const slash = path.lastIndexOf('/')
  const parent = slash === -1 ? '' : path.slice(0, slash)
  listing.children.get(parent)?.push(entry)
}

/** Fails with MirrorDamaged when any of the objects is missing from the store. */
async function checkBlobs (objects: string[], options: GitOptions): Promise<void> {
  if (objects.length === 0) return
  const child = spawnGit(['cat-file', '--batch-check=%(objectname) %(objecttype)', '--buffer'], options, 'pipe')
  const exited = new Promise<number | null>((resolve, reject) => child.on('error', reject).on('close', resolve))
  child.stdin!.end(objects.join('\n') + '\n')
  let output = ''
  for await (const chunk of child.stdout.setEncoding('utf8') as AsyncIterable<string>) output += chunk
  const missing = output.split('\n').filter((line) => line.endsWith(' missing'))
  const code = await exited
  if (missing.length > 0 || code !== 0) {
    throw new MirrorDamaged(`${missing.length} object(s) of the commit are missing from the mirror, e.g. ${missing[0]?.split(' ')[0] ?? '(cat-file failed)'}`)
  }
}

/**
 * One `git cat-file --batch` process answering requests one at a time: each writes an object id
 * and reads back "<id> <type> <size>\n", the content and a newline.
 */
class CatFileBatch {
  private readonly child
  private readonly reader
  private queue: Promise<unknown> = Promise.resolve()
  private broken: Error | null = null
  /** git itself failed to give an object (not the reader going away). */
  damaged = false

  constructor (options: GitOptions) {
    this.child = spawnGit(['cat-file', '--batch'], options, 'pipe')
    this.child.on('error', (error) => (this.broken ??= error))
    this.child.stdin!.on('error', (error) => (this.broken ??= error))
    // git ending mid-answer means it could not read the object (a damaged pack), not that we left.
    this.reader = new ByteReader(this.child.stdout[Symbol.asyncIterator]() as AsyncIterator<Buffer>, () => (this.damaged = true))
  }

  read (object: string): Promise<Buffer> {
    return this.exclusive(async () => {
      const parts: Buffer[] = []
      for await (const chunk of this.content(object)) parts.push(chunk)
      return Buffer.concat(parts)
    })
  }

  copy (object: string, into: Writable, signal: AbortSignal): Promise<void> {
    return this.exclusive(async () => {
      try {
        await pipeline(Readable.from(this.content(object)), into, { signal })
      } catch (error) {
        // Part of the answer may be unread: the protocol is out of step, so nothing more is asked.
        this.broken ??= error as Error
        throw error
      }
    })
  }

  async close (): Promise<void> {
    this.child.stdin!.end()
    if (this.child.exitCode === null && this.child.signalCode === null) {
      await new Promise((resolve) => this.child.once('close', resolve))
    }
  }

  private async * content (object: string): AsyncGenerator<Buffer> {
    this.child.stdin!.write(`${object}\n`)
    const header = await this.reader.line()
    const match = /^[0-9a-f]+ blob (\d+)$/.exec(header)
    if (!match) {
      this.damaged = true
      throw new MirrorDamaged(`git cat-file could not read ${object}: ${header}`)
    }
    yield * this.reader.bytes(Number(match[1]))
    await this.reader.skip(1)
  }

  private exclusive<T>(task: () => Promise<T>): Promise<T> {
    const run = this.queue.then(() => {
      if (this.broken) throw this.broken
      return task()
    })
    this.queue = run.catch(() => undefined)
    return run
  }
}

/** Reads lines and counted bytes from a stream of chunks, pulling only as much as it is asked. */
class ByteReader {
  private leftover: Buffer = Buffer.alloc(0)
  constructor (
    private readonly source: AsyncIterator<Buffer>,
    private readonly onEnded: () => void
  ) {}

  async line (): Promise<string> {
    let end: number
    while ((end = this.leftover.indexOf(10)) === -1) await this.more()
    const line = this.leftover.subarray(0, end).toString('utf8')
    this.leftover = this.leftover.subarray(end + 1)
    return line
  }

  async * bytes (count: number): AsyncGenerator<Buffer> {
    let remaining = count
    while (remaining > 0) {
      if (this.leftover.length === 0) await this.more()
      const chunk = this.leftover.subarray(0, remaining)
      this.leftover = this.leftover.subarray(chunk.length)
      remaining -= chunk.length
      yield chunk
    }
  }

  async skip (count: number): Promise<void> {
    for await (const chunk of this.bytes(count)) void chunk
  }

  private async more (): Promise<void> {
    const next = await this.source.next()
    if (next.done) {
      this.onEnded()
      throw new GitError(['cat-file', '--batch'], null, 'git cat-file ended before its answer did')
    }
    this.leftover = this.leftover.length === 0 ? next.value : Buffer.concat([this.leftover, next.value])
  }
}
