import { field, parseStanzas } from './stanzas.js'

/** One package of a system package database: dpkg's status or apk's installed. */
export interface SystemPackage {
  name: string
  version: string
  arch: string | undefined
  license: string | null
}

/**
 * The installed packages of a dpkg status file. Stanzas of /var/lib/dpkg/status count only when
 * installed (`Status: install ok installed`; removed ones linger as `deinstall ok config-files`);
 * the files of status.d (distroless images) have no Status field and are all installed.
 */
export function dpkgPackages (text: string, withStatus: boolean): SystemPackage[] {
  return parseStanzas(text).flatMap((stanza) => {
    const name = field(stanza, 'package')
    const version = field(stanza, 'version')
    if (!name || !version) return []
    if (withStatus && field(stanza, 'status')?.split(/\s+/).join(' ') !== 'install ok installed') return []
    return [{ name, version, arch: field(stanza, 'architecture'), license: null }]
  })
}

/** The packages of apk's /lib/apk/db/installed: `X:value` lines (P name, V version, A arch, L license), blank-line separated. */
export function apkPackages (text: string): SystemPackage[] {
  const packages: SystemPackage[] = []
  for (const block of text.split(/\r?\n\s*\r?\n/)) {
    const fields = new Map<string, string>()
    for (const line of block.split(/\r?\n/)) {
      // Per-file lines (F:, R:, Z:, ...) repeat; only the package's own fields, given once, matter.
      if (line[1] === ':' && !fields.has(line[0] ?? '')) fields.set(line[0] ?? '', line.slice(2).trim())
    }
    const name = fields.get('P')
    const version = fields.get('V')
    if (name && version) packages.push({ name, version, arch: fields.get('A') || undefined, license: fields.get('L') || null })
  }
  return packages
}

/** One layer's copy of a database file: the packages it lists (none when the layer deletes the file). */
export interface DatabaseVersion {
  /** Layer position, 0 = bottom. */
  layer: number
  packages: SystemPackage[]
}

/**
 * Each package of the top copy with the layer that added it: the lowest layer from which every
 * layer that wrote (or deleted) the file, up to the top, lists the package at that version. A
 * package kept while a later layer rewrote the database stays with its first layer; an upgraded
 * or reinstalled one goes with the layer that changed it.
 */
export function attributeLayers (versions: DatabaseVersion[]): { pkg: SystemPackage; layer: number }[] {
  const ordered = [...versions].sort((a, b) => a.layer - b.layer)
  const top = ordered.pop()
  if (!top) return []
  const lists = ordered.map((version) => new Set(version.packages.map(keyOf)))
  return top.packages.map((pkg) => {
    let layer = top.layer
    for (let index = lists.length - 1; index >= 0 && lists[index]?.has(keyOf(pkg)); index--) layer = ordered[index]?.layer ?? layer
    return { pkg, layer }
  })
}

function keyOf (pkg: SystemPackage): string {
  return `${pkg.name}\u0000${pkg.version}\u0000${pkg.arch ?? ''}`
}
