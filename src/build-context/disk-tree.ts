import { createReadStream } from 'node:fs'
import { lstat, readdir, readFile, readlink } from 'node:fs/promises'
import path from 'node:path'
import { pipeline } from 'node:stream/promises'
import type { SourceTree, TreeEntry } from './source-tree.js'

/**
 * A checkout on disk as a SourceTree. Symlinks are reported as links and never followed here, so
 * nothing outside `root` is read through one.
 */
export function diskTree (root: string): SourceTree {
  const absolute = (relative: string) => path.join(root, ...relative.split('/'))
  const entryAt = async (relative: string): Promise<TreeEntry | null> => {
    const info = await lstat(absolute(relative)).catch(() => null)
    if (!info) return null
    const type = info.isDirectory() ? 'directory' : info.isSymbolicLink() ? 'symlink' : info.isFile() ? 'file' : null
    // Sockets, fifos and devices have no place in a build context.
    if (type === null) return null
    return {
      path: relative,
      type,
      mode: info.mode & 0o7777,
      size: type === 'file' ? info.size : 0,
      ...(type === 'symlink' ? { linkname: await readlink(absolute(relative)) } : {})
    }
  }
  return {
    entry: entryAt,
    async children (dir) {
      const names = (await readdir(absolute(dir))).sort()
      const entries = await Promise.all(names.map((name) => entryAt(dir ? `${dir}/${name}` : name)))
      return entries.filter((entry): entry is TreeEntry => entry !== null)
    },
    read: (entry) => readFile(absolute(entry.path)),
    copy: (entry, into, signal) => pipeline(createReadStream(absolute(entry.path), { signal }), into),
    close: async () => undefined
  }
}
