import path from 'node:path'
import { once } from 'node:events'
import { PassThrough } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import zlib from 'node:zlib'
import tar from 'tar-stream'

// JSON documents in the archive (manifest.json, the config, OCI index/manifests) are small; only
// these are held whole. Anything bigger is never buffered.
const JSON_LIMIT = 16 * 1024 * 1024
const SNIFF_BYTES = 512
// The engine writes the archive as fast as it is read, but waits whenever the reader pauses for a
// layer's entries: reading ahead this much keeps it writing (a 32 MB image read in half the time).
const READ_AHEAD_BYTES = 8 * 1024 * 1024

/** Collects what it wants of one file's bytes as they stream by; `end` gives what it kept, or nothing. */
export interface ContentKeeper {
  write(chunk: Buffer): void
  end(): Buffer | undefined
}

/** Says, for a regular file of a layer (absolute path, tar header), what keeps its content; undefined: nothing does. */
export type KeepContent = (path: string, header: tar.Header) => ContentKeeper | undefined

export interface ImageLayers {
  /** Bottom layer first. */
  layers: LayerFiles[]
  /** History index of each layer (see layerHistoryIndexes). */
  historyIndexes: number[]
}

/**
 * Reads a `docker save` stream (`GET /images/{name}/get`): the Docker 1.x layout
 * (`<dir>/layer.tar`, `<sha>.json`, `manifest.json`) and the OCI layout newer engines write
 * (`blobs/sha256/…`, layers possibly gzip-compressed). Layers are found by what manifest.json
 * lists, wherever they sit in the stream, so each tar-looking entry's file list is kept by name and
 * the order resolved at the end. File lists (path → size) are held in memory; file contents only
 * where `keep` asks for them, and only what its keeper keeps.
 */
export async function readImageLayers (image: NodeJS.ReadableStream | AsyncIterable<Buffer>, keep?: KeepContent): Promise<ImageLayers> {
  const { layers, history } = resolveImage(await readArchive(image, keep))
  return { layers, historyIndexes: layerHistoryIndexes(history, layers.length) }
}

// ---------------------------------------------------------------------------------------------
// One layer's file list

/** A regular file's content in one layer, with every name (hard link) it has there. */
export interface Inode {
  size: number
  names: string[]
  /** What the KeepContent keeper kept of its bytes, if one was asked to. */
  content?: Buffer | undefined
}

export interface LayerEntry {
  kind: 'file' | 'directory' | 'other'
  /** For kind 'file': index into the layer's inodes. */
  inode: number
}

export class LayerFiles {
  /** Absolute, normalized path → what this layer puts there. */
  readonly entries = new Map<string, LayerEntry>()
  readonly inodes: Inode[] = []
  /** Paths a `.wh.<name>` deletes (with everything under them). */
  readonly whiteouts: string[] = []
  /** Directories a `.wh..wh..opq` makes opaque: everything earlier under them is gone. */
  readonly opaque: string[] = []

  /** Records an entry of the layer; for a regular file, returns its new inode (for its content). */
  add (header: tar.Header): Inode | undefined {
    const name = absolute(header.name)
    if (name === '/') return
    const dir = path.posix.dirname(name)
    const base = path.posix.basename(name)
    if (base === '.wh..wh..opq') {
      this.opaque.push(dir)
      return
    }
    // Other `.wh..wh.` names are aufs bookkeeping (.wh..wh.plnk, .wh..wh.aufs), not deletions.
    if (base.startsWith('.wh..wh.')) return
    if (base.startsWith('.wh.')) {
      this.whiteouts.push(path.posix.join(dir, base.slice(4)))
      return
    }
    this.unlink(name)
    switch (header.type) {
      case 'file':
      case 'contiguous-file': {
        const inode: Inode = { size: header.size, names: [name] }
        this.entries.set(name, { kind: 'file', inode: this.inodes.push(inode) - 1 })
        return inode
      }
      case 'directory':
        this.entries.set(name, { kind: 'directory', inode: -1 })
        return
      case 'link': {
        // A hard link names content stored earlier in the same tar: count its bytes once.
        const target = this.entries.get(absolute(header.linkname))
        if (target?.kind === 'file') {
          this.inodes[target.inode]?.names.push(name)
          this.entries.set(name, target)
          return
        }
        this.entries.set(name, { kind: 'other', inode: -1 })
        return
      }
      default:
        this.entries.set(name, { kind: 'other', inode: -1 })
    }
  }

  /** The kept content of the regular file this layer puts at `name`, if any. */
  content (name: string): Buffer | undefined {
    const entry = this.entries.get(name)
    return entry?.kind === 'file' ? this.inodes[entry.inode]?.content : undefined
  }

  /** Whether this layer's whiteouts or opaque folders delete what lower layers have at `name`. */
  deletes (name: string): boolean {
    if (this.whiteouts.includes(name)) return true
    for (let dir = path.posix.dirname(name); ; dir = path.posix.dirname(dir)) {
      if (this.whiteouts.includes(dir) || this.opaque.includes(dir)) return true
      if (dir === '/') return false
    }
  }

  /** A path listed twice in one tar: the later entry wins, the earlier name is gone. */
  private unlink (name: string): void {
    const previous = this.entries.get(name)
    if (previous?.kind !== 'file') return
    const inode = this.inodes[previous.inode]
    if (inode) inode.names = inode.names.filter((other) => other !== name)
  }
}

function absolute (name: string): string {
  const normalized = path.posix.normalize('/' + name)
  return normalized.length > 1 && normalized.endsWith('/') ? normalized.slice(0, -1) : normalized
}

// ---------------------------------------------------------------------------------------------
// What the layers above hide

/** The lowest layer above the one being visited that hides `name` (deletes or replaces it), if any. */
export type HiddenBy = (name: string) => number | undefined

/**
 * Visits the layers from the top down, each with what the layers above it hide: deletes (whiteout
 * of a path or of a folder above it, an opaque folder above it) or overwrites (any entry at the
 * path, or a non-folder at a folder above it). Keeps for each path the lowest layer seen so far
 * that hides it, so a lookup costs one step per path component.
 */
export function walkDown (layers: LayerFiles[], visit: (layer: LayerFiles, position: number, hiddenBy: HiddenBy) => void): void {
  // Path → lowest later layer that replaces or deletes exactly that path.
  const hidesPath = new Map<string, number>()
  // Path → lowest later layer that hides everything strictly under that path.
  const hidesBelow = new Map<string, number>()
  const hiddenBy = (name: string): number | undefined => {
    let lowest = hidesPath.get(name)
    for (let dir = path.posix.dirname(name); ; dir = path.posix.dirname(dir)) {
      const below = hidesBelow.get(dir)
      if (below !== undefined && (lowest === undefined || below < lowest)) lowest = below
      if (dir === '/') break
    }
    return lowest
  }

  for (let position = layers.length - 1; position >= 0; position--) {
    const layer = layers[position]
    if (!layer) continue
    visit(layer, position, hiddenBy)
    // Going down, each layer is lower than anything recorded so far: plain overwrites keep the minimum.
    for (const [name, entry] of layer.entries) {
      hidesPath.set(name, position)
      if (entry.kind !== 'directory') hidesBelow.set(name, position)
    }
    for (const name of layer.whiteouts) {
      hidesPath.set(name, position)
      hidesBelow.set(name, position)
    }
    for (const dir of layer.opaque) hidesBelow.set(dir, position)
  }
}

/** A regular file of the final image whose content was kept. */
export interface VisibleFile {
  path: string
  /** Layer position (0 = bottom) that wrote it. */
  layer: number
  content: Buffer
}

/** The kept files nothing above their layer hides, that is, those the final image shows. */
export function visibleKeptFiles (layers: LayerFiles[]): VisibleFile[] {
  const visible: VisibleFile[] = []
  walkDown(layers, (layer, position, hiddenBy) => {
    for (const [name, entry] of layer.entries) {
      const content = entry.kind === 'file' ? layer.inodes[entry.inode]?.content : undefined
      if (content && hiddenBy(name) === undefined) visible.push({ path: name, layer: position, content })
    }
  })
  return visible
}

// ---------------------------------------------------------------------------------------------
// Lining layers up with the config's history

interface HistoryEntry {
  empty_layer?: boolean
}

/**
 * History index of each layer: the n-th non-empty history entry is the n-th layer. When the
 * counts differ (squashed or hand-made images), the newest entries are matched with the newest
 * layers, which keeps the image's own steps right; layers left over get -1.
 */
export function layerHistoryIndexes (history: HistoryEntry[] | undefined, layerCount: number): number[] {
  const withLayer: number[] = []
  history?.forEach((entry, index) => {
    if (entry?.empty_layer !== true) withLayer.push(index)
  })
  const shift = withLayer.length - layerCount
  return Array.from({ length: layerCount }, (_, position) => withLayer[position + shift] ?? -1)
}

// ---------------------------------------------------------------------------------------------
// Reading the archive

interface Archive {
  /** Entry name → file list of each entry that parsed as a tar (or the reason it did not). */
  tars: Map<string, LayerFiles | Error>
  /** Entry name → text of each small JSON document. */
  json: Map<string, string>
  /** Entry name → the entry it links to (Docker 20.10 saves a layer met twice as a symlink). */
  links: Map<string, string>
}

function resolveImage (archive: Archive): { layers: LayerFiles[]; history: HistoryEntry[] | undefined } {
  const manifestText = archive.json.get('manifest.json')
  if (manifestText === undefined) throw new Error('The image archive has no manifest.json.')
  const manifest = parseJson(manifestText, 'manifest.json')
  const first = Array.isArray(manifest) ? (manifest[0] as unknown) : undefined
  if (!isRecord(first) || !Array.isArray(first.Layers)) throw new Error('manifest.json does not list the image layers.')

  const layers = first.Layers.map((layerName: unknown) => {
    if (typeof layerName !== 'string') throw new Error('manifest.json lists a layer that is not a path.')
    const name = resolveLink(archive, layerName)
    const files = archive.tars.get(name)
    if (files instanceof Error) throw new Error(`Layer ${layerName} could not be read: ${files.message}`)
    if (!files) throw new Error(`Layer ${layerName} listed in manifest.json is not in the image archive.`)
    return files
  })

  let history: HistoryEntry[] | undefined
  if (typeof first.Config === 'string') {
    const configText = archive.json.get(resolveLink(archive, first.Config))
    if (configText === undefined) throw new Error(`The image config ${first.Config} is not in the image archive.`)
    const config = parseJson(configText, first.Config)
    if (isRecord(config) && Array.isArray(config.history)) history = config.history as HistoryEntry[]
  }
  return { layers, history }
}

function resolveLink (archive: Archive, name: string): string {
  let current = entryName(name)
  for (let hops = 0; hops < 16; hops++) {
    const target = archive.links.get(current)
    if (target === undefined) return current
    current = target
  }
  throw new Error(`The image archive links ${name} in a loop.`)
}

function entryName (name: string): string {
  return absolute(name).slice(1)
}

function parseJson (text: string, name: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    throw new Error(`${name} in the image archive is not valid JSON.`)
  }
}

export function isRecord (value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/**
 * One pass over the archive, as the upload checker reads an upload: the stream piped into a tar
 * extract whose entries are iterated, each read to its end (with backpressure) before the next;
 * none is kept.
 */
async function readArchive (image: NodeJS.ReadableStream | AsyncIterable<Buffer>, keep: KeepContent | undefined): Promise<Archive> {
  const archive: Archive = { tars: new Map(), json: new Map(), links: new Map() }
  const extract = tar.extract()
  const reading = (async () => {
    for await (const entry of extract) await readEntry(archive, entry.header, entry as AsyncIterable<Buffer>, keep)
  })()
  // tar-stream's extract is a streamx Writable, which stream.pipeline drives like a Node one; a
  // failure on either side destroys the other (and the image stream).
  const feeding = pipeline(image, new PassThrough({ highWaterMark: READ_AHEAD_BYTES }), extract as unknown as NodeJS.WritableStream)
  const stopping = reading.catch((error: unknown) => {
    extract.destroy(error as Error)
    throw error
  })
  const failures = (await Promise.allSettled([feeding, stopping])).flatMap((result) => (result.status === 'rejected' ? [result.reason as unknown] : []))
  if (failures.length > 0) throw failures[0]
  return archive
}

/** One entry of the archive, read to its end whatever it is, so that the archive goes on. */
async function readEntry (archive: Archive, header: tar.Header, content: AsyncIterable<Buffer>, keep: KeepContent | undefined): Promise<void> {
  const name = entryName(header.name)
  if (header.type === 'symlink' || header.type === 'link') {
    const target = header.type === 'symlink' ? path.posix.join(path.posix.dirname(name), header.linkname) : header.linkname
    archive.links.set(name, entryName(target))
  }
  const isFile = header.type === 'file' || header.type === 'contiguous-file'
  // Enough of the start to tell a tar, a compressed tar and a JSON document apart.
  const head: Buffer[] = []
  let headBytes = 0
  let reader: ContentReader | undefined
  for await (const chunk of content) {
    if (!isFile) continue
    if (reader) {
      await reader.write(chunk)
      continue
    }
    head.push(chunk)
    headBytes += chunk.length
    if (headBytes >= SNIFF_BYTES) reader = await readerFor(archive, name, header.size, Buffer.concat(head), keep)
  }
  if (!isFile) return
  reader ??= await readerFor(archive, name, header.size, Buffer.concat(head), keep)
  await reader.end()
}

/** What keeps an entry's content: fed it chunk by chunk as it streams by, then told it ended. */
interface ContentReader {
  write(chunk: Buffer): Promise<void>
  end(): Promise<void>
}

/** The reader for an entry that starts with `start`: its text for a JSON document, its file list for a tar, nothing otherwise. */
async function readerFor (archive: Archive, name: string, size: number, start: Buffer, keep: KeepContent | undefined): Promise<ContentReader> {
  const kind = sniff(name, start, size)
  if (kind === 'json') {
    const parts: Buffer[] = [start]
    return {
      write: async (chunk) => {
        parts.push(chunk)
      },
      end: async () => {
        archive.json.set(name, Buffer.concat(parts).toString('utf8'))
      }
    }
  }
  if (kind === 'tar' || kind === 'gzip') {
    const lister = new TarLister(kind, keep)
    await lister.write(start)
    return {
      write: (chunk) => lister.write(chunk),
      // A blob that only looked like a tar matters only if manifest.json calls it a layer.
      end: async () => {
        archive.tars.set(name, await lister.end())
      }
    }
  }
  if (kind === 'zstd') archive.tars.set(name, new Error('it is zstd-compressed, which this Node.js cannot decompress'))
  return { write: async () => undefined, end: async () => undefined }
}

type EntryKind = 'tar' | 'gzip' | 'zstd' | 'json' | 'other'

function sniff (name: string, start: Buffer, size: number): EntryKind {
  if (start.length >= 2 && start[0] === 0x1f && start[1] === 0x8b) return 'gzip'
  if (start.length >= 4 && start.readUInt32LE(0) === 0xfd2fb528) return 'zstd'
  if (name.endsWith('.tar')) return 'tar'
  if (start.length >= 262 && start.toString('latin1', 257, 262) === 'ustar') return 'tar'
  // An empty layer is end-of-archive blocks only.
  if (start.length >= SNIFF_BYTES && start.subarray(0, SNIFF_BYTES).every((byte) => byte === 0)) return 'tar'
  if (size <= JSON_LIMIT && (name.endsWith('.json') || /^\s*[[{]/.test(start.toString('latin1', 0, 64)))) return 'json'
  return 'other'
}

/**
 * Lists a (possibly compressed) tar written to it chunk by chunk; entry contents are skipped but
 * for what `keep` keeps. The
 * chunks go through a stream of its own into the pipeline (gunzip, extract), so a layer that fails
 * to read ends only its own listing: the archive's entry is still read to its end.
 */
class TarLister {
  private readonly input = new PassThrough()
  private readonly listed: Promise<LayerFiles | Error>

  constructor (kind: 'tar' | 'gzip', keep: KeepContent | undefined) {
    const files = new LayerFiles()
    const extract = tar.extract()
    const listing = (async () => {
      for await (const entry of extract) {
        const inode = files.add(entry.header)
        const keeper = inode && keep?.(inode.names[0] ?? '', entry.header)
        if (!inode || !keeper) {
          entry.resume()
          continue
        }
        for await (const chunk of entry) keeper.write(chunk as Buffer)
        inode.content = keeper.end()
      }
    })()
    // tar-stream's extract is a streamx Writable, which stream.pipeline drives like a Node one.
    const into = extract as unknown as NodeJS.WritableStream
    const feeding = kind === 'gzip' ? pipeline(this.input, zlib.createGunzip(), into) : pipeline(this.input, into)
    this.listed = Promise.all([feeding, listing]).then(
      () => files,
      (error: unknown) => (error instanceof Error ? error : new Error(String(error)))
    )
  }

  /** Takes a chunk, waiting while the listing is behind; once the listing failed, chunks are dropped. */
  async write (chunk: Buffer): Promise<void> {
    if (this.input.destroyed || this.input.write(chunk)) return
    // 'drain', or the end of the listing (a failure destroys the input): either way, go on.
    await Promise.race([once(this.input, 'drain').catch(() => undefined), this.listed])
  }

  /** The tar's file list, or why it could not be read. */
  async end (): Promise<LayerFiles | Error> {
    if (!this.input.destroyed) this.input.end()
    return this.listed
  }
}
