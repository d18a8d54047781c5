import path from 'node:path'
import { formatBytes } from '../../src/domain/format.js'
import { purlOf, type Ecosystem, type ImagePackage, type OsRelease } from '../../src/domain/sbom/image-package.js'
import { readImageLayers, visibleKeptFiles, type ContentKeeper, type KeepContent, type LayerFiles, type VisibleFile } from './image-archive.js'
import { goBuildInfoKeeper, goModules } from './packages/go-buildinfo.js'
import { npmPackage, pythonPackage } from './packages/language-packages.js'
import { apkPackages, attributeLayers, dpkgPackages, type SystemPackage } from './packages/system-databases.js'

// A system package database lists every package of the image (Debian's is a few MB); anything
// else kept is one package's metadata, small. Bigger files are left out rather than cut.
const DATABASE_LIMIT = 64 * 1024 * 1024
const FILE_LIMIT = 1024 * 1024

const DPKG_STATUS = '/var/lib/dpkg/status'
const APK_INSTALLED = '/lib/apk/db/installed'
const OS_RELEASE = ['/etc/os-release', '/usr/lib/os-release']

type Source = 'dpkg' | 'dpkg-part' | 'apk' | 'os-release' | 'python' | 'npm'

/** What a file of the image is to the scan, by its path; undefined: nothing (but maybe a Go binary). */
function sourceOf (name: string): Source | undefined {
  if (name === DPKG_STATUS) return 'dpkg'
  // Distroless images: one file per package, next to its .md5sums.
  if (path.posix.dirname(name) === '/var/lib/dpkg/status.d' && !name.endsWith('.md5sums')) return 'dpkg-part'
  if (name === APK_INSTALLED) return 'apk'
  if (OS_RELEASE.includes(name)) return 'os-release'
  if (/\.dist-info\/METADATA$|\.egg-info\/PKG-INFO$|\.egg-info$/.test(name)) return 'python'
  // The package.json right under node_modules/<name> or node_modules/@scope/<name>, not those deeper in a package.
  if (/\/node_modules\/(@[^/]+\/)?[^/.@][^/]*\/package\.json$/.test(name)) return 'npm'
  return undefined
}

/**
 * What one scan may hold: an image is untrusted, and a Dockerfile can fill one with package
 * metadata (thousands of large package.json files, Go build information in every binary). Past
 * either limit the scan gives up, and says so, rather than hold it all.
 */
export interface ScanLimits {
  /** The package metadata kept, all files together. */
  keptBytes: number
  packages: number
}

export const SCAN_LIMITS: ScanLimits = { keptBytes: 256 * 1024 * 1024, packages: 100_000 }

/** Keeps the package metadata files whole, and of executables only their Go build information, within `limit` bytes in all. */
function packageFilesKeeper (limit: number): KeepContent {
  let kept = 0
  const counted = (keeper: ContentKeeper): ContentKeeper => ({
    write: (chunk) => keeper.write(chunk),
    end () {
      const content = keeper.end()
      kept += content?.length ?? 0
      if (kept > limit) throw new Error(`the image holds more package metadata than the scan keeps (${formatBytes(limit)})`)
      return content
    }
  })
  return (name, header) => {
    const source = sourceOf(name)
    // Python metadata puts its headers first and may append a long description: its start is enough.
    if (source) return counted(bytesKeeper(source === 'dpkg' || source === 'apk' ? DATABASE_LIMIT : FILE_LIMIT, source === 'python'))
    if (((header.mode ?? 0) & 0o111) !== 0) return counted(goBuildInfoKeeper())
    return undefined
  }
}

/** Keeps a file's bytes up to `limit`; past it, the start when `cut`, else nothing. */
function bytesKeeper (limit: number, cut: boolean): ContentKeeper {
  let parts: Buffer[] | undefined = []
  let bytes = 0
  return {
    write (chunk) {
      if (!parts) return
      const room = limit - bytes
      bytes += chunk.length
      if (chunk.length <= room) parts.push(Buffer.from(chunk))
      else if (!cut) parts = undefined
      else if (room > 0) parts.push(Buffer.from(chunk.subarray(0, room)))
    },
    end: () => parts && Buffer.concat(parts)
  }
}

/** A package found, before its purl and history index. */
interface Found {
  ecosystem: Ecosystem
  name: string
  version: string
  arch?: string | undefined
  license: string | null
  /** Layer position, 0 = bottom. */
  layer: number
  path: string
}

/**
 * The packages of an image's final file system, from a `docker save` stream: Debian's and
 * Alpine's package databases, Python distributions, npm packages and Go binaries' modules, each
 * with the layer that added it. What a later layer deleted or replaced is not listed.
 */
export async function scanImagePackages (image: NodeJS.ReadableStream | AsyncIterable<Buffer>, limits = SCAN_LIMITS): Promise<{ packages: ImagePackage[]; os: OsRelease | null }> {
  const { layers, historyIndexes } = await readImageLayers(image, packageFilesKeeper(limits.keptBytes))
  const visible = visibleKeptFiles(layers)
  const os = osRelease(visible)
  const found = visible.flatMap((file) => packagesIn(file, layers))

  const seen = new Set<string>()
  const packages: ImagePackage[] = []
  for (const pkg of found) {
    const key = [pkg.ecosystem, pkg.name, pkg.version, pkg.path].join('\u0000')
    if (seen.has(key)) continue
    seen.add(key)
    if (seen.size > limits.packages) throw new Error(`the image holds more than ${limits.packages} packages, more than the scan lists`)
    packages.push({
      ecosystem: pkg.ecosystem,
      name: pkg.name,
      version: pkg.version,
      purl: purlOf({ ecosystem: pkg.ecosystem, name: pkg.name, version: pkg.version, arch: pkg.arch, os }),
      license: pkg.license,
      historyIndex: historyIndexes[pkg.layer] ?? -1,
      path: pkg.path
    })
  }
  packages.sort((a, b) => compare(a.ecosystem, b.ecosystem) || compare(a.name, b.name) || compare(a.version, b.version) || compare(a.path, b.path))
  return { packages, os }
}

function packagesIn (file: VisibleFile, layers: LayerFiles[]): Found[] {
  const text = () => file.content.toString('utf8')
  switch (sourceOf(file.path)) {
    case 'dpkg':
      return fromDatabase('deb', file, layers, (content) => dpkgPackages(content, true))
    case 'dpkg-part':
      return dpkgPackages(text(), false).map((pkg) => ({ ecosystem: 'deb', ...pkg, layer: file.layer, path: file.path }))
    case 'apk':
      return fromDatabase('apk', file, layers, apkPackages)
    case 'python': {
      const pkg = pythonPackage(text())
      return pkg ? [{ ecosystem: 'pypi', ...pkg, layer: file.layer, path: file.path }] : []
    }
    case 'npm': {
      const pkg = npmPackage(text())
      return pkg ? [{ ecosystem: 'npm', ...pkg, layer: file.layer, path: file.path }] : []
    }
    case 'os-release':
      return []
    case undefined:
      return goModules(file.content).map((module) => ({ ecosystem: 'golang', name: module.path, version: module.version, license: null, layer: file.layer, path: file.path }))
  }
}

/**
 * The packages of a database file every layer rewrites whole, each with the layer that added it:
 * the file's copy in each layer up to the visible one is read (a layer deleting it lists nothing).
 */
function fromDatabase (ecosystem: Ecosystem, file: VisibleFile, layers: LayerFiles[], parse: (text: string) => SystemPackage[]): Found[] {
  const versions = layers.slice(0, file.layer + 1).flatMap((layer, position) => {
    const content = position === file.layer ? file.content : layer.content(file.path)
    if (content) return [{ layer: position, packages: parse(content.toString('utf8')) }]
    return layer.deletes(file.path) ? [{ layer: position, packages: [] }] : []
  })
  return attributeLayers(versions).map(({ pkg, layer }) => ({ ecosystem, ...pkg, layer, path: file.path }))
}

/** ID and VERSION_ID of the image's os-release (/etc first, as systemd reads it). */
function osRelease (visible: VisibleFile[]): OsRelease | null {
  for (const name of OS_RELEASE) {
    const file = visible.find((candidate) => candidate.path === name)
    if (!file) continue
    const values = new Map<string, string>()
    for (const line of file.content.toString('utf8').split(/\r?\n/)) {
      const match = /^([A-Z0-9_]+)=(.*)$/.exec(line.trim())
      if (match?.[1]) values.set(match[1], (match[2] ?? '').replace(/^(["'])(.*)\1$/, '$2'))
    }
    const id = values.get('ID')
    if (id) return { id, versionId: values.get('VERSION_ID') ?? '' }
  }
  return null
}

function compare (a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}
