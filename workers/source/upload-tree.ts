import { createWriteStream } from 'node:fs'
import { chmod, lstat, mkdir, symlink } from 'node:fs/promises'
import path from 'node:path'
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { printable } from '../../src/domain/builds/repo-url.js'
import { UploadUnsafe } from '../../src/domain/errors.js'
import { formatBytes } from '../../src/domain/format.js'
import type { UploadSource } from '../../src/domain/schemas/build.js'
import { isUploadError, readSafeTar, type TarEntry, type TarLimits } from '../../src/domain/uploads/safe-tar.js'
import type { StoredUploads } from '../../src/storage/upload-store.js'
import { BuildFailure } from '../../src/domain/builds/build-failure.js'
import type { Source } from './source.js'
import { diskTree } from '../../src/build-context/disk-tree.js'

export interface UnpackInput {
  uploads: Pick<StoredUploads, 'has' | 'read'>
  /** The build whose gzipped tar the API stored. */
  buildId: string
  source: UploadSource
  /** An empty folder of the build's own to unpack into. */
  dir: string
  limits: TarLimits
  signal: AbortSignal
  log: (stream: 'system', text: string) => void
}

/**
 * The uploaded tar, read from Redis piece by piece and unpacked into the build's folder under the
 * same checks the API made when it took it (the bytes in Redis are not trusted more than the
 * request was), then read as a checkout on disk would be. Nothing is written through a symlink or
 * outside `dir`.
 */
export async function unpackUpload (input: UnpackInput): Promise<Source> {
  if (!(await input.uploads.has(input.buildId))) {
    throw new BuildFailure('UPLOAD_MISSING', 'The uploaded tar is no longer stored (it was kept longer than any build can wait and run). Upload it again.')
  }
  await mkdir(input.dir, { recursive: true })
  const writer = entryWriter(input.dir, input.signal)
  try {
    const summary = await readSafeTar(Readable.from(input.uploads.read(input.buildId)), input.limits, writer, input.signal)
    input.log('system', `Unpacked the upload (sha256 ${input.source.sha256.slice(0, 12)}): ${summary.entries} entries, ${formatBytes(summary.unpackedBytes)}`)
    return {
      commit: null,
      revision: input.source.sha256,
      time: summary.newest ?? new Date(0),
      resolvedRef: null,
      tree: diskTree(input.dir),
      release: async () => undefined
    }
  } catch (error) {
    if (isUploadError(error)) {
      throw new BuildFailure(error.code, error.message)
    }
    throw error
  }
}

/**
 * Writes checked entries under `root`. Every folder on the way to an entry must be a real folder
 * (made here, or an earlier entry of the tar), and nothing that exists is replaced, so no entry
 * lands through a symlink or over another.
 */
function entryWriter (root: string, signal: AbortSignal) {
  const folders = new Set<string>([''])
  const absolute = (relative: string) => path.join(root, ...relative.split('/'))
  const parentOf = (relative: string) => relative.slice(0, Math.max(0, relative.lastIndexOf('/')))

  async function folder (relative: string): Promise<void> {
    if (folders.has(relative)) return
    await folder(parentOf(relative))
    try {
      await mkdir(absolute(relative))
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error
      if (!(await lstat(absolute(relative))).isDirectory()) throw new UploadUnsafe(printable(relative), 'is needed as a folder but is a file or a symlink')
    }
    folders.add(relative)
  }

  return async (entry: TarEntry, content: Readable): Promise<void> => {
    await folder(parentOf(entry.path))
    const target = absolute(entry.path)
    try {
      if (entry.type === 'directory') {
        content.resume()
        await folder(entry.path)
        // The worker must be able to read what it unpacked, whatever the tar said.
        await chmod(target, entry.mode | 0o700)
      } else if (entry.type === 'file') {
        // 'wx': never over an existing entry, never through a symlink.
        await pipeline(content, createWriteStream(target, { flags: 'wx', mode: 0o600 }), { signal })
        await chmod(target, entry.mode | 0o400)
      } else {
        content.resume()
        await symlink(entry.linkname!, target)
      }
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') throw new UploadUnsafe(printable(entry.path), 'appears twice in the tar')
      throw error
    }
  }
}
