import { isRecord } from '../image-archive.js'
import { field, parseStanzas } from './stanzas.js'

/** A package as a language's own metadata file declares it. */
export interface DeclaredPackage {
  name: string
  version: string
  license: string | null
}

// A License field longer than this is the license's full text, not its name.
const SHORT_LICENSE = 100

/**
 * A Python distribution's core metadata (`*.dist-info/METADATA`, `*.egg-info/PKG-INFO` or an
 * `*.egg-info` file): its headers, up to the first blank line. The license, most precise first:
 * License-Expression (metadata 2.4), a short one-line License, the License :: classifiers.
 */
export function pythonPackage (text: string): DeclaredPackage | undefined {
  const headers = parseStanzas(text.split(/\r?\n\r?\n/, 1)[0] ?? '')[0]
  const name = headers && field(headers, 'name')
  const version = headers && field(headers, 'version')
  if (!headers || !name || !version) return undefined
  const declared = field(headers, 'license')
  const classifiers = (headers.get('classifier') ?? []).flatMap((classifier) => {
    const parts = classifier.split('::').map((part) => part.trim())
    return parts[0] === 'License' && parts.length > 2 ? [parts[parts.length - 1] ?? ''] : []
  })
  const license =
    field(headers, 'license-expression') ??
    (declared && declared !== 'UNKNOWN' && !declared.includes('\n') && declared.length <= SHORT_LICENSE ? declared : undefined) ??
    (classifiers.length > 0 ? classifiers.join(', ') : null)
  return { name, version, license }
}

/**
 * A package.json of an installed npm package. The license as npm has had it: a string (an SPDX
 * expression, normally), the older `{ type }` object, or a `licenses` list of either (any of them
 * applies: joined with OR).
 */
export function npmPackage (text: string): DeclaredPackage | undefined {
  let manifest: unknown
  try {
    manifest = JSON.parse(text)
  } catch {
    return undefined
  }
  if (!isRecord(manifest) || typeof manifest.name !== 'string' || typeof manifest.version !== 'string' || !manifest.name || !manifest.version) return undefined
  const licenses = (Array.isArray(manifest.licenses) ? manifest.licenses : [manifest.license]).flatMap((entry: unknown) => {
    const value = isRecord(entry) ? entry.type : entry
    return typeof value === 'string' && value.trim() ? [value.trim()] : []
  })
  return { name: manifest.name, version: manifest.version, license: licenses.length === 0 ? null : licenses.length === 1 ? (licenses[0] ?? null) : licenses.map((license) => `(${license})`).join(' OR ') }
}
