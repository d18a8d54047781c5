import { stat } from 'node:fs/promises'
import path from 'node:path'
import { pipeline, type Readable } from 'node:stream'
import { createGzip } from 'node:zlib'
import { keeping, packContext, parseDockerignore, walkContext } from '../build-context/context.js'
import { diskTree } from '../build-context/disk-tree.js'
import { resolveInTree } from '../build-context/source-tree.js'
import { UsageError } from './exit-codes.js'

// Every entry gets the same time: file times differ between checkouts of one commit, and would
// only make two uploads of the same files differ.
const UPLOAD_MTIME = new Date(0)

export interface PackedDir {
  /** The gzipped tar, made as it is read: nothing is written to disk. */
  archive: Readable
  files: number
  /** The files' bytes before compression. */
  bytes: number
}

/**
 * A local folder as a build's source upload: a gzipped tar whose root is the folder, with what the
 * folder's .dockerignore excludes left out, as Docker's own walk leaves it out, and `.git` always
 * left out. The .dockerignore files and the Dockerfiles (variants' too) travel even when excluded (the server
 * needs them to build). A symlink that leads outside the folder (or nowhere) is refused, so
 * nothing outside it is sent or pointed at.
 */
export async function packDir (
  dir: string,
  options: { context?: string; dockerfile?: string; variantDockerfiles?: string[]; signal: AbortSignal }
): Promise<PackedDir> {
  const root = path.resolve(dir)
  const info = await stat(root).catch(() => null)
  if (!info?.isDirectory()) throw new UsageError(`--dir ${dir} is not a folder`)
  const tree = diskTree(root)
  const ignoreFile = await tree.entry('.dockerignore')
  const ignoreText = ignoreFile?.type === 'file' ? (await tree.read(ignoreFile)).toString('utf8') : ''
  const context = path.posix.normalize(options.context ?? '.')
  const kept = ['.dockerignore', path.posix.normalize(options.dockerfile ?? path.posix.join(context, 'Dockerfile'))]
  if (context !== '.') kept.push(path.posix.join(context, '.dockerignore'))
  kept.push(...(options.variantDockerfiles ?? []).map((file) => path.posix.normalize(file)))
  const entries = await walkContext(tree, '', keeping(parseDockerignore(ignoreText), kept), new Set(['.git']), options.signal)

  for (const entry of entries) {
    if (entry.type === 'symlink' && !(await resolveInTree(tree, entry.name))) {
      throw new UsageError(
        `${path.join(dir, entry.name)} is a symlink to '${entry.linkname}', which is outside ${dir} or does not exist. ` +
          'Only what is inside the folder is uploaded: list the link in .dockerignore, or replace it by what it points at.'
      )
    }
  }
  const files = entries.filter((entry) => entry.type === 'file')
  // pipeline, not pipe: a file that cannot be read must fail the upload, not end it early.
  const archive = createGzip()
  pipeline(packContext({ entries }, tree, UPLOAD_MTIME, options.signal), archive, () => undefined)
  return {
    archive,
    files: files.length,
    bytes: files.reduce((sum, entry) => sum + entry.size, 0)
  }
}
