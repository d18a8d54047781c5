import { createHash } from 'node:crypto'
import { once } from 'node:events'
import path from 'node:path'
import { Writable } from 'node:stream'
import * as grpc from '@grpc/grpc-js'
import ignoreModule from '@balena/dockerignore'
import picomatch from 'picomatch'
import protobuf from 'protobufjs'
import { SessionCallError, type StreamMethod } from './buildkit-session.js'

// The package is CommonJS (module.exports = factory) while its types declare a default export.
const dockerignore = ignoreModule as unknown as typeof ignoreModule.default

// With `remote=client-session` the engine reads the build context from the session instead of a
// tar in the request, as buildx sends it: BuildKit calls FileSync/DiffCopy once per folder it
// loads ("dockerfile" for the Dockerfile, "context" for .dockerignore and again for the files
// COPY uses), naming the folder and what it wants of it in the call's metadata
// (buildkit session/filesync/filesync.go). The client streams a stat for each entry, in the order
// of a walk; BuildKit compares them with what it kept from the last build of the same key and asks
// for the bytes of the files that differ (tonistiigi/fsutil send.go and receive.go). So nothing is
// unpacked on the engine, and a warm engine is sent only what changed.
const FSUTIL = protobuf.parse(`
syntax = "proto3";
package fsutil.types;
message Stat {
  string path = 1; uint32 mode = 2; uint32 uid = 3; uint32 gid = 4; int64 size = 5; int64 modTime = 6;
  string linkname = 7; int64 devmajor = 8; int64 devminor = 9; map<string, bytes> xattrs = 10;
}
message Packet { int32 type = 1; Stat stat = 2; uint32 ID = 3; bytes data = 4; }
`).root

const STAT = 0
const REQ = 1
const DATA = 2
const FIN = 3
const ERR = 4

interface Stat {
  path: string
  mode: number
  uid: number
  gid: number
  size: number
  modTime: string
  linkname: string
}

interface Packet {
  type: number
  stat?: Stat | null
  ID?: number
  data?: Buffer
}

/** One file, folder or symlink of a folder the session serves; `path` is '/'-separated, relative to it. */
export interface SyncedEntry {
  path: string
  type: 'file' | 'directory' | 'symlink'
  /** Permission bits (0o7777). */
  mode: number
  size: number
  linkname?: string
  /**
   * What identifies a file's content (git's blob id). BuildKit takes a file it kept as unchanged
   * when its size and time are the same (fsutil's sameFile), so a file's time is the folder's plus
   * a fraction of a second drawn from this: new content at the same size and second is sent again,
   * but for a one in a billion draw. A folder whose files lack it must be synced under a key of its own.
   */
  version?: string
}

/** A folder BuildKit may load through the session: its entries, and a way to read each file. */
export interface SyncedFolder {
  entries: SyncedEntry[]
  /** Every entry's time: the same for every build of one commit, so a warm engine sees no change. */
  mtime: Date
  /** Streams a file's bytes into `into`, ends it, and resolves once `into` has taken all of it. */
  copy: (entry: SyncedEntry, into: Writable, signal: AbortSignal) => Promise<void>
}

// Go's os.FileMode bits, which fsutil's stats carry in place of Unix's.
const GO_DIR = 2 ** 31
const GO_SYMLINK = 2 ** 27
const GO_SETUID = 2 ** 23
const GO_SETGID = 2 ** 22
const GO_STICKY = 2 ** 20

// fsutil sends file data in pieces of 32 KiB.
const CHUNK = 32 * 1024

/**
 * The session's FileSync service, serving `folders` by name. `onError` hears of a file that could
 * not be read: the call ends with that error, which fails the build.
 */
export function syncedFolders (folders: Record<string, SyncedFolder>, onError: (error: Error) => void): StreamMethod<Packet, Packet> {
  // BuildKit loads one folder under several names (context, dockerfile): it is sorted once.
  const sorted = new Map<SyncedFolder, SyncedEntry[]>()
  return {
    path: '/moby.filesync.v1.FileSync/DiffCopy',
    request: FSUTIL.lookupType('fsutil.types.Packet'),
    response: FSUTIL.lookupType('fsutil.types.Packet'),
    serve: (call) => {
      const name = String(call.metadata.get('dir-name')[0] ?? '')
      if (!Object.hasOwn(folders, name)) {
        call.emit('error', new SessionCallError(grpc.status.NOT_FOUND, `no access allowed to dir "${name}"`))
        return
      }
      const folder = folders[name]!
      if (!sorted.has(folder)) sorted.set(folder, inWalkOrder(folder.entries))
      // BuildKit sends each pattern as a header value of its own, which Node's HTTP/2 joins with
      // ", " (and grpc-js keeps joined): a path that itself holds ", " cannot be told apart.
      const asked = (key: string) => call.metadata.get(key).flatMap((value) => String(value).split(', ')).filter(Boolean)
      const entries = selectEntries(sorted.get(folder)!, {
        include: asked('include-patterns'),
        exclude: asked('exclude-patterns'),
        follow: asked('followpaths')
      })
      sendFolder(call, folder, entries, onError)
    }
  }
}

type Call = grpc.ServerDuplexStream<Packet, Packet>

function sendFolder (call: Call, folder: SyncedFolder, entries: SyncedEntry[], onError: (error: Error) => void): void {
  const stopped = new AbortController()
  call.on('cancelled', () => stopped.abort())
  call.on('error', () => stopped.abort())
  const send = async (packet: Packet) => {
    if (!call.write(packet)) await once(call, 'drain', { signal: stopped.signal })
  }
  const modTime = BigInt(folder.mtime.getTime()) * 1_000_000n
  // A stat's id is its place in the walk; only regular files' data can be asked for (fsutil's fileCanRequestData).
  const requestable = new Map<number, SyncedEntry>()
  let sending = Promise.resolve()
  const end = (error?: Error) => {
    if (stopped.signal.aborted) return
    stopped.abort()
    if (error) call.write({ type: ERR, data: Buffer.from(error.message) })
    call.end()
  }
  const fail = (error: Error) => {
    onError(error)
    end(error)
  }

  call.on('data', (packet: Packet) => {
    if (packet.type === REQ) {
      const entry = requestable.get(packet.ID ?? 0)
      if (!entry) return fail(new Error(`the engine asked for file ${packet.ID}, which was not offered`))
      requestable.delete(packet.ID ?? 0)
      sending = sending.then(() => sendFile(packet.ID ?? 0, entry)).catch((error: Error) => { if (!stopped.signal.aborted) fail(error) })
    } else if (packet.type === FIN) {
      sending = sending.then(() => send({ type: FIN })).then(() => end(), () => end())
    } else if (packet.type === ERR) {
      // The engine gave up on the transfer (the build was canceled, or its disk is full); it says why in the build's stream.
      end()
    }
  })

  const sendFile = async (id: number, entry: SyncedEntry) => {
    const pieces = new Writable({
      write: (chunk: Buffer, _encoding, done) => {
        ;(async () => {
          for (let offset = 0; offset < chunk.length; offset += CHUNK) await send({ type: DATA, ID: id, data: chunk.subarray(offset, offset + CHUNK) })
        })().then(() => done(), done)
      }
    })
    await folder.copy(entry, pieces, stopped.signal)
    // An empty piece ends the file.
    await send({ type: DATA, ID: id })
  }

  ;(async () => {
    for (const [id, entry] of entries.entries()) {
      if (stopped.signal.aborted) return
      if (entry.type === 'file') requestable.set(id, entry)
      await send({ type: STAT, stat: statOf(entry, modTime) })
    }
    // A packet without a stat ends the list.
    await send({ type: STAT })
  })().catch((error: Error) => { if (!stopped.signal.aborted) fail(error) })
}

function statOf (entry: SyncedEntry, folderTime: bigint): Stat {
  const special = (entry.mode & 0o4000 ? GO_SETUID : 0) + (entry.mode & 0o2000 ? GO_SETGID : 0) + (entry.mode & 0o1000 ? GO_STICKY : 0)
  const kind = entry.type === 'directory' ? GO_DIR : entry.type === 'symlink' ? GO_SYMLINK : 0
  return {
    path: entry.path,
    mode: kind + special + (entry.type === 'symlink' ? 0o777 : entry.mode & 0o777),
    uid: 0,
    gid: 0,
    // As fsutil's walk: a symlink's size is its target's length, a folder's nothing.
    size: entry.type === 'file' ? entry.size : entry.type === 'symlink' ? Buffer.byteLength(entry.linkname ?? '') : 0,
    modTime: (folderTime + (entry.version ? nanosecondsOf(entry.version) : 0n)).toString(),
    linkname: entry.linkname ?? ''
  }
}

/** Under a second, drawn from a content identity. */
function nanosecondsOf (version: string): bigint {
  return BigInt(createHash('sha256').update(version).digest().readUInt32BE(0) % 1_000_000_000)
}

/**
 * Entries in the order fsutil walks a folder, which BuildKit checks (fsutil's Validator): names
 * compared byte by byte with "/" below every other byte, and each folder before what is in it,
 * folders the list lacks added (an excluded folder that an exception of .dockerignore looks into).
 */
export function inWalkOrder (entries: SyncedEntry[]): SyncedEntry[] {
  const byPath = new Map(entries.map((entry) => [entry.path, entry]))
  for (const entry of entries) {
    for (let dir = path.posix.dirname(entry.path); dir !== '.' && !byPath.has(dir); dir = path.posix.dirname(dir)) {
      byPath.set(dir, { path: dir, type: 'directory', mode: 0o755, size: 0 })
    }
  }
  const keyed = [...byPath.values()].map((entry) => ({ entry, key: Buffer.from(entry.path.replaceAll('/', '\0')) }))
  return keyed.sort((a, b) => Buffer.compare(a.key, b.key)).map(({ entry }) => entry)
}

/**
 * What one DiffCopy call asks for, chosen as fsutil's walk chooses (walker.go): only what the
 * include patterns and followed paths reach, when there are any; then not what the exclude
 * patterns (the .dockerignore BuildKit read) exclude, but a folder an exception looks into.
 */
export function selectEntries (entries: SyncedEntry[], asked: { include: string[]; exclude: string[]; follow: string[] }): SyncedEntry[] {
  const includes = includePatterns(entries, asked)?.map(prefixMatcher)
  const excluder = asked.exclude.length > 0 ? dockerignore().add(asked.exclude) : null
  const exceptions = asked.exclude.filter((pattern) => pattern.startsWith('!')).map((pattern) => `${pattern.slice(1).trim()}/`)
  // In walk order a folder's entries follow it, so one skipped folder at a time is enough.
  let skipped: string | null = null
  let includedDir: string | null = null
  const selected: SyncedEntry[] = []
  for (const entry of entries) {
    if (skipped !== null && entry.path.startsWith(`${skipped}/`)) continue
    skipped = null
    const isDir = entry.type === 'directory'
    if (includes && !(includedDir !== null && entry.path.startsWith(`${includedDir}/`))) {
      const matches = includes.map((matches) => matches(entry.path)).filter((match) => match.matched)
      if (matches.length === 0) {
        if (isDir) skipped = entry.path
        continue
      }
      if (isDir && matches.some((match) => !match.partial)) includedDir = entry.path
    }
    if (excluder?.ignores(entry.path)) {
      const lookedInto = isDir && exceptions.some((exception) => exception.startsWith(`${entry.path}/`))
      if (!lookedInto) {
        if (isDir) skipped = entry.path
        continue
      }
    }
    selected.push(entry)
  }
  return selected
}

/** Include patterns, with followed paths resolved through the folder's symlinks; null when all of it is wanted. */
function includePatterns (entries: SyncedEntry[], asked: { include: string[]; follow: string[] }): string[] | null {
  if (asked.include.length === 0 && asked.follow.length === 0) return null
  const patterns = [...asked.include.map((pattern) => clean(pattern)), ...followLinks(entries, asked.follow)]
  if (asked.follow.length > 0 && patterns.includes('.')) return null
  return [...new Set(patterns)]
}

/**
 * The paths `paths` lead to, with every symlink on the way and its target (fsutil's FollowLinks):
 * a target is read inside the folder, an absolute one from the folder's root, never outside it.
 */
function followLinks (entries: SyncedEntry[], paths: string[]): string[] {
  const byPath = new Map(entries.map((entry) => [entry.path, entry]))
  const resolved = new Set<string>()
  const targetsOf = (at: string, wildcards: boolean): string[] => {
    const base = path.posix.basename(at)
    if (wildcards && /[*?[]/.test(base)) {
      const dir = path.posix.dirname(at)
      const match = picomatch(base, GLOB)
      return entries.filter((entry) => path.posix.dirname(entry.path) === dir && match(path.posix.basename(entry.path))).flatMap((entry) => targetsOf(entry.path, false))
    }
    const entry = byPath.get(at)
    if (entry?.type !== 'symlink' || entry.linkname === undefined) return []
    const link = path.posix.normalize(entry.linkname)
    return [path.posix.isAbsolute(link) ? link : path.posix.join('/', path.posix.dirname(at), link)]
  }
  const follow = (wanted: string, hops: number): void => {
    if (hops > 40) return
    let rest = clean(wanted)
    let current = ''
    for (;;) {
      const slash = rest.indexOf('/')
      current = current ? `${current}/${slash === -1 ? rest : rest.slice(0, slash)}` : (slash === -1 ? rest : rest.slice(0, slash))
      rest = slash === -1 ? '' : rest.slice(slash + 1)
      const targets = targetsOf(current, true)
      if ((rest === '' || targets.length > 0) && resolved.has(current)) return
      if (targets.length > 0) {
        resolved.add(current)
        for (const target of targets) follow(path.posix.join(target, rest), hops + 1)
        return
      }
      if (rest === '') {
        resolved.add(current)
        return
      }
    }
  }
  for (const wanted of paths) follow(wanted, 0)
  return [...resolved]
}

// filepath.Match: `*` and `?` stop at "/", `[...]` classes, nothing else special.
const GLOB = { dot: true, nobrace: true, noextglob: true, noglobstar: true } as const

/**
 * fsutil's matchPrefix for one pattern: a pattern deeper than the path is cut to the path's depth,
 * and matching it is partial (the path is a folder on the way to what is wanted).
 */
function prefixMatcher (pattern: string): (entryPath: string) => { matched: boolean; partial: boolean } {
  const parts = pattern.split('/')
  const byDepth = new Map<number, picomatch.Matcher>()
  return (entryPath) => {
    const depth = slashes(entryPath)
    const partial = parts.length - 1 > depth
    if (!byDepth.has(depth)) byDepth.set(depth, picomatch(partial ? parts.slice(0, depth + 1).join('/') : pattern, GLOB))
    return { matched: byDepth.get(depth)!(entryPath), partial }
  }
}

const slashes = (text: string) => text.split('/').length - 1
/** Go's filepath.Join(".", p): relative, cleaned, "." for the root. */
const clean = (wanted: string) => path.posix.normalize(`./${wanted}`).replace(/^\/+/, '').replace(/\/+$/, '') || '.'
