import { readImageLayers, walkDown, type LayerFiles } from './image-archive.js'

/** A regular file whose bytes ship in one layer but that a later layer hides. */
export interface DeletedLater {
  /** Absolute path in the image, e.g. `/big.bin`. For hard-linked files, the first name in the layer. */
  path: string
  bytes: number
  /**
   * Index into the image config's `history` (oldest first, empty_layer entries counted) of the
   * layer that added the file; -1 when the config's history cannot be lined up with the layer.
   */
  addedInHistoryIndex: number
  /** Same, for the layer that deleted or overwrote it (for hard links: the one that hid its last name). */
  deletedInHistoryIndex: number
}

export interface FilesDeletedLaterOptions {
  /** Files smaller than this are left out of `findings` (still counted in `wastedBytes`). Default 1. */
  minBytes?: number
  /** At most this many findings, largest first. Default 20. */
  maxFindings?: number
}

/**
 * Measures "files added in one layer and deleted in a later one" from a `docker save` stream
 * (`GET /images/{name}/get`), in either layout image-archive.ts reads. Only file lists
 * (path → size) are held in memory, never file contents.
 */
export async function filesDeletedLater (
  image: NodeJS.ReadableStream | AsyncIterable<Buffer>,
  options: FilesDeletedLaterOptions = {}
): Promise<{ findings: DeletedLater[]; wastedBytes: number }> {
  const { layers, historyIndexes: historyIndex } = await readImageLayers(image)
  const minBytes = options.minBytes ?? 1
  const maxFindings = options.maxFindings ?? 20

  const wasted = hiddenFiles(layers)
  const wastedBytes = wasted.reduce((sum, file) => sum + file.bytes, 0)
  const findings = wasted
    .filter((file) => file.bytes >= minBytes)
    .map((file) => ({
      path: file.path,
      bytes: file.bytes,
      addedInHistoryIndex: historyIndex[file.addedIn] ?? -1,
      deletedInHistoryIndex: historyIndex[file.deletedIn] ?? -1
    }))
    .sort((a, b) => b.bytes - a.bytes || a.addedInHistoryIndex - b.addedInHistoryIndex || (a.path < b.path ? -1 : a.path > b.path ? 1 : 0))
    .slice(0, Math.max(0, maxFindings))
  return { findings, wastedBytes }
}

// ---------------------------------------------------------------------------------------------
// Which files the layers above hide

interface HiddenFile {
  path: string
  bytes: number
  /** Layer positions (0 = bottom), mapped to history indexes by the caller. */
  addedIn: number
  deletedIn: number
}

/** Every regular file of every layer that a later layer hides (see walkDown for what hides). */
function hiddenFiles (layers: LayerFiles[]): HiddenFile[] {
  const hidden: HiddenFile[] = []
  walkDown(layers, (layer, position, hiddenBy) => {
    for (const inode of layer.inodes) {
      if (inode.names.length === 0) continue
      // Content with several names stays reachable until its last name is hidden.
      let deletedIn = -1
      for (const name of inode.names) {
        const by = hiddenBy(name)
        if (by === undefined) {
          deletedIn = -1
          break
        }
        deletedIn = Math.max(deletedIn, by)
      }
      if (deletedIn !== -1) hidden.push({ path: inode.names[0] ?? '', bytes: inode.size, addedIn: position, deletedIn })
    }
  })
  return hidden
}
