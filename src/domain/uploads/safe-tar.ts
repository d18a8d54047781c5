import path from 'node:path'
import { Transform, type Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { createGunzip } from 'node:zlib'
import tar from 'tar-stream'
import { UploadInvalid, UploadTooLarge, UploadUnsafe } from '../errors.js'
import { printable } from '../builds/repo-url.js'
import { formatBytes } from '../format.js'
import { createTarLinks, unsafe } from './tar-links.js'

// An uploaded tar comes from anyone holding a token. The API reads it through here as it arrives
// (to refuse a bad one with a 400 before anything is queued) and the worker reads it again through
// here as it unpacks it, so both hold it to the same rules.

/** More entries than this is a tar made to wear the worker out, not a build context. */
export const MAX_UPLOAD_ENTRIES = 200_000
// Linux's PATH_MAX: a longer name could not be unpacked anyway.
const MAX_PATH_BYTES = 4096

export interface TarLimits {
  /** What the gzip may unpack to (the tar stream itself): a gzip bomb stops here. */
  maxUnpackedBytes: number
  maxEntries: number
}

/** An entry that passed the checks: a path relative to the tar's root, without "." or "..". */
export interface TarEntry {
  path: string
  type: 'file' | 'directory' | 'symlink'
  /** Permission bits only: setuid, setgid and sticky bits are dropped. */
  mode: number
  size: number
  linkname?: string
}

export interface TarSummary {
  entries: number
  unpackedBytes: number
  /** The newest modification time of any entry; null for an empty tar. */
  newest: Date | null
}

/**
 * Reads a gzipped tar, checking every entry before `onEntry` sees it (its content must be read or
 * drained before the next one comes). Throws UPLOAD_INVALID for what is not a gzipped tar,
 * UPLOAD_UNSAFE for an entry that could reach outside its root or is not a file, folder or
 * symlink, and UPLOAD_TOO_LARGE past the limits.
 */
export async function readSafeTar (
  gzipped: Readable,
  limits: TarLimits,
  onEntry: (entry: TarEntry, content: Readable) => Promise<void>,
  signal?: AbortSignal
): Promise<TarSummary> {
  const gunzip = createGunzip()
  const extract = tar.extract()
  let unpackedBytes = 0
  const counter = new Transform({
    transform (chunk: Buffer, _encoding, done) {
      unpackedBytes += chunk.length
      if (unpackedBytes <= limits.maxUnpackedBytes) return done(null, chunk)
      done(
        new UploadTooLarge(
          `The upload unpacks to more than ${formatBytes(limits.maxUnpackedBytes)} (SLIPWAY_CLONE_MAX_BYTES). ` +
            'Leave out what the build does not need: list it in .dockerignore and pack only the rest.'
        )
      )
    }
  })
  // Which stream failed first tells a damaged gzip from a damaged tar from a body that broke off.
  let failedIn: 'source' | 'gzip' | 'tar' | undefined
  gzipped.once('error', () => (failedIn ??= 'source'))
  gunzip.once('error', () => (failedIn ??= 'gzip'))
  extract.once('error', () => (failedIn ??= 'tar'))

  const checker = entryChecker(limits)
  let newest: Date | null = null
  const reading = (async () => {
    for await (const content of extract) {
      const entry = checker(content.header)
      if (content.header.mtime && (newest === null || content.header.mtime > newest)) newest = content.header.mtime
      // A streamx Readable, which Node's stream functions take like one of their own.
      if (entry) await onEntry(entry, content as unknown as Readable)
      else content.resume()
    }
    // Only now is every link known. Links are written as they come but never followed while the
    // tar is read, so one found leading out fails the read before anything goes through it.
    checker.checkLinks()
  })()
  // tar-stream's extract is a streamx Writable, which stream.pipeline drives like a Node one.
  const feeding = pipeline(gzipped, gunzip, counter, extract as unknown as NodeJS.WritableStream, signal ? { signal } : {})
  const stopping = reading.catch((error: unknown) => {
    extract.destroy(error as Error)
    throw error
  })
  // Both settle before this returns, so no entry is still being written when the caller cleans up.
  const failures = (await Promise.allSettled([feeding, stopping])).flatMap((result) => (result.status === 'rejected' ? [result.reason as unknown] : []))
  if (failures.length > 0) throw asUploadError(failures.find(isUploadError) ?? failures[0], failedIn)
  return { entries: checker.count(), unpackedBytes, newest }
}

/** A refusal of the upload itself (not an I/O failure): UPLOAD_INVALID, UPLOAD_UNSAFE or UPLOAD_TOO_LARGE. */
export const isUploadError = (error: unknown): error is InstanceType<typeof UploadInvalid> => error instanceof UploadInvalid || error instanceof UploadUnsafe || error instanceof UploadTooLarge

function asUploadError (error: unknown, failedIn: 'source' | 'gzip' | 'tar' | undefined): unknown {
  if (isUploadError(error)) return error
  const reason = (error as Error).message
  if (failedIn === 'gzip') return new UploadInvalid(`The body is not gzipped data (${reason}). Send a gzipped tar, as \`tar -czf - .\` writes it.`)
  if (failedIn === 'tar') return new UploadInvalid(`The body is gzipped but not a tar (${reason}). Send a gzipped tar, as \`tar -czf - .\` writes it.`)
  return error
}

/** Checks each header in turn; remembers the symlinks, so that nothing is unpacked through one and each is checked where it leads. */
function entryChecker (limits: TarLimits) {
  const links = createTarLinks()
  let count = 0
  const check = (header: tar.Header): TarEntry | null => {
    if (++count > limits.maxEntries) {
      throw new UploadTooLarge(`The upload holds more than ${limits.maxEntries} entries. Leave out what the build does not need: list it in .dockerignore and pack only the rest.`)
    }
    const name = cleanPath(header.name)
    // "./", the root itself.
    if (name === '') {
      if (header.type === 'directory') return null
      throw unsafe(header.name, 'names the root of the upload as something other than a folder')
    }
    const under = links.linkAbove(name)
    if (under !== undefined) throw unsafe(name, `lies under '${printable(under)}', which is a symlink`)
    const mode = header.mode & 0o777
    switch (header.type) {
      case 'file':
      case 'contiguous-file':
        return { path: name, type: 'file', mode, size: header.size }
      case 'directory':
        return { path: name, type: 'directory', mode, size: 0 }
      case 'symlink': {
        const target = header.linkname
        if (!target) throw unsafe(name, 'is a symlink to nothing')
        if (path.posix.isAbsolute(target)) throw unsafe(name, `is a symlink to the absolute path '${printable(target)}'; make it relative`)
        links.add(name, target)
        return { path: name, type: 'symlink', mode: 0o777, size: 0, linkname: target }
      }
      case 'link':
        throw unsafe(name, 'is a hard link; pack with `tar --hard-dereference` to store its content instead')
      default:
        throw unsafe(name, `is a ${header.type ?? 'entry of an unknown type'}`)
    }
  }
  return Object.assign(check, { count: () => count, checkLinks: () => links.checkAll() })
}

/** "./a//b/" → "a/b"; refuses absolute paths and "..". */
function cleanPath (name: string): string {
  if (name.startsWith('/')) throw unsafe(name, 'is an absolute path')
  const parts = name.split('/').filter((part) => part !== '' && part !== '.')
  if (parts.includes('..')) throw unsafe(name, 'climbs out with ".."')
  const cleaned = parts.join('/')
  if (Buffer.byteLength(cleaned) > MAX_PATH_BYTES) throw new UploadInvalid(`The tar's entry '${printable(cleaned.slice(0, 80))}…' has a path longer than ${MAX_PATH_BYTES} bytes.`)
  return cleaned
}
