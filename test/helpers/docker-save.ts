import { createHash } from 'node:crypto'
import { gzipSync } from 'node:zlib'
import type tar from 'tar-stream'
import { tarOf as tarballOf } from './tarball.js'

// Synthetic `docker save` archives, for the tests of what reads them (workers/insight).

export interface TarEntry {
  header: tar.Header | (Partial<tar.Header> & { name: string })
  content?: Buffer
}

export async function tarOf (entries: TarEntry[]): Promise<Buffer> {
  return tarballOf(entries.map((entry) => ({ ...entry.header, content: entry.content })))
}

// Entries of one layer tar, named as Docker writes them (relative, folders with a trailing slash).
export const file = (name: string, size: number): TarEntry => ({ header: { name, type: 'file', mode: 0o644 }, content: Buffer.alloc(size, 0x61) })
export const fileWith = (name: string, content: string | Buffer, mode = 0o644): TarEntry => ({ header: { name, type: 'file', mode }, content: Buffer.from(content) })
export const dir = (name: string): TarEntry => ({ header: { name: `${name}/`, type: 'directory', mode: 0o755 } })
export const symlink = (name: string, target: string): TarEntry => ({ header: { name, type: 'symlink', linkname: target } })
export const hardlink = (name: string, target: string): TarEntry => ({ header: { name, type: 'link', linkname: target } })
export const whiteout = (name: string): TarEntry => {
  const slash = name.lastIndexOf('/')
  return file(`${name.slice(0, slash + 1)}.wh.${name.slice(slash + 1)}`, 0)
}
export const opaque = (folder: string): TarEntry => file(`${folder}/.wh..wh..opq`, 0)

export const sha = (data: Buffer | string) => createHash('sha256').update(data).digest('hex')

export interface SaveOptions {
  /** Each layer's entries, bottom first. */
  layers: TarEntry[][]
  /** The config's history; by default one non-empty entry per layer. */
  history?: { created_by: string; empty_layer?: boolean }[]
  layout?: 'docker' | 'oci'
  /** OCI layout: gzip these layer positions. */
  gzip?: number[]
  /** Docker layout: positions whose layer.tar is saved as a symlink to another position's. */
  symlinks?: Record<number, number>
}

/**
 * A `docker save` archive: Docker 20.10's layout (layer folders in name order, not layer order;
 * config, then manifest.json and repositories last) or the OCI layout of newer engines.
 */
export async function saveArchive (options: SaveOptions): Promise<Buffer> {
  const history = options.history ?? options.layers.map((_, index) => ({ created_by: `/bin/sh -c step ${index}` }))
  const layerTars = await Promise.all(options.layers.map((entries) => tarOf(entries)))
  const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', history, rootfs: { type: 'layers', diff_ids: layerTars.map((layer) => `sha256:${sha(layer)}`) } }))
  const configName = `${sha(config)}.json`

  if (options.layout === 'oci') {
    const blobs = layerTars.map((layer, index) => (options.gzip?.includes(index) ? gzipSync(layer) : layer))
    const layerNames = blobs.map((blob) => `blobs/sha256/${sha(blob)}`)
    const manifest = Buffer.from(JSON.stringify({ schemaVersion: 2, config: { digest: `sha256:${sha(config)}` }, layers: layerNames.map((name) => ({ digest: `sha256:${name.slice(13)}` })) }))
    const entries: TarEntry[] = [
      { header: { name: 'blobs/', type: 'directory' } },
      { header: { name: 'blobs/sha256/', type: 'directory' } },
      ...blobs.map((blob, index) => ({ header: { name: layerNames[index] ?? '' }, content: blob })),
      { header: { name: `blobs/sha256/${sha(config)}` }, content: config },
      { header: { name: `blobs/sha256/${sha(manifest)}` }, content: manifest },
      { header: { name: 'index.json' }, content: Buffer.from(JSON.stringify({ schemaVersion: 2, manifests: [{ digest: `sha256:${sha(manifest)}` }] })) },
      { header: { name: 'manifest.json' }, content: Buffer.from(JSON.stringify([{ Config: `blobs/sha256/${sha(config)}`, RepoTags: ['x:latest'], Layers: layerNames }])) },
      { header: { name: 'oci-layout' }, content: Buffer.from('{"imageLayoutVersion":"1.0.0"}') }
    ]
    return tarOf(entries)
  }

  // Folder names unrelated to layer order, like Docker's v1 ids.
  const folders = layerTars.map((_, index) => sha(`folder ${index}`))
  const byName = folders.map((folder, index) => ({ folder, index })).sort((a, b) => a.folder.localeCompare(b.folder))
  const entries: TarEntry[] = []
  for (const { folder, index } of byName) {
    entries.push({ header: { name: `${folder}/`, type: 'directory' } })
    entries.push({ header: { name: `${folder}/VERSION` }, content: Buffer.from('1.0') })
    entries.push({ header: { name: `${folder}/json` }, content: Buffer.from(JSON.stringify({ id: folder })) })
    const original = options.symlinks?.[index]
    if (original !== undefined) entries.push({ header: { name: `${folder}/layer.tar`, type: 'symlink', linkname: `../${folders[original]}/layer.tar` } })
    else entries.push({ header: { name: `${folder}/layer.tar` }, content: layerTars[index] })
  }
  entries.push({ header: { name: configName }, content: config })
  entries.push({ header: { name: 'manifest.json' }, content: Buffer.from(JSON.stringify([{ Config: configName, RepoTags: ['x:latest'], Layers: folders.map((folder) => `${folder}/layer.tar`) }])) })
  entries.push({ header: { name: 'repositories' }, content: Buffer.from('{"x":{"latest":"abc"}}') })
  return tarOf(entries)
}

/** The archive in small, odd-sized chunks, so tar headers straddle chunk boundaries. */
export async function * chunked (data: Buffer, size = 333): AsyncIterable<Buffer> {
  for (let offset = 0; offset < data.length; offset += size) yield data.subarray(offset, offset + size)
}
