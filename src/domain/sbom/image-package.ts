// The packages found in an image's final file system, and their package URLs
// (https://github.com/package-url/purl-spec, PURL-SPECIFICATION.rst and PURL-TYPES.rst).

export type Ecosystem = 'deb' | 'apk' | 'pypi' | 'npm' | 'golang'

export interface ImagePackage {
  ecosystem: Ecosystem
  name: string
  version: string
  purl: string
  /** The license as the package declares it (apk L:, npm license, Python License-Expression/License/classifier), or null. */
  license: string | null
  /** Index into the image config's history (oldest first, empty_layer entries counted) of the layer that added it; -1 when it cannot be lined up. */
  historyIndex: number
  /** Where it was found, absolute in the image: /var/lib/dpkg/status, /usr/lib/python3/dist-packages/x-1.0.dist-info/METADATA, /app/node_modules/express/package.json, /usr/local/bin/app (Go). */
  path: string
}

/** The image's distribution, from /etc/os-release (ID, VERSION_ID). */
export interface OsRelease {
  id: string
  versionId: string
}

export interface PurlInput {
  ecosystem: Ecosystem
  name: string
  version: string
  /** deb and apk: the package's architecture. */
  arch?: string | undefined
  /** deb and apk: the distribution, which names the namespace and the distro qualifier. */
  os?: OsRelease | null | undefined
}

// Without /etc/os-release, the distribution each system package type is normally found on.
const DEFAULT_DISTRO: Partial<Record<Ecosystem, string>> = { deb: 'debian', apk: 'alpine' }

/**
 * The package URL of a package: `pkg:type/namespace/name@version?qualifiers`. Each part is
 * percent-encoded on its own (a namespace segment by segment) as the reference implementations
 * do, which leaves `:` readable in versions (deb epochs) and encodes `@` (npm scopes) and `+`.
 */
export function purlOf (input: PurlInput): string {
  const { namespace, name } = nameParts(input)
  const qualifiers: [string, string][] = []
  if (input.ecosystem === 'deb' || input.ecosystem === 'apk') {
    if (input.arch) qualifiers.push(['arch', input.arch])
    if (input.os?.id) qualifiers.push(['distro', input.os.versionId ? `${input.os.id.toLowerCase()}-${input.os.versionId}` : input.os.id.toLowerCase()])
  }
  const path = [...namespace, name].map(encodePart).join('/')
  const query = qualifiers
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([key, value]) => `${key}=${encodePart(value)}`)
    .join('&')
  return `pkg:${input.ecosystem}/${path}@${encodePart(input.version)}${query ? `?${query}` : ''}`
}

/**
 * The package URL of an image pushed to a registry, by digest: `pkg:oci/app@sha256%3A…` with
 * the repository it lives in as `repository_url` (the oci type's rule: the name is the last path
 * segment, lowercased).
 */
export function ociPurl (repository: string, digest: string): string {
  // A tag after the last segment is not part of the repository.
  const untagged = repository.toLowerCase().replace(/:[^/:]*$/, '')
  const name = untagged.slice(untagged.lastIndexOf('/') + 1)
  const qualifier = untagged.includes('/') ? `?repository_url=${encodePart(untagged).replace(/%2F/g, '/')}` : ''
  return `pkg:oci/${encodePart(name)}@${encodeURIComponent(digest)}${qualifier}`
}

/** The namespace segments and name, normalized as each type's rules say. */
function nameParts (input: PurlInput): { namespace: string[]; name: string } {
  switch (input.ecosystem) {
    case 'deb':
    case 'apk':
      return { namespace: [(input.os?.id || DEFAULT_DISTRO[input.ecosystem] || '').toLowerCase()], name: input.name.toLowerCase() }
    case 'pypi':
      // PEP 503 normalization: lowercase, and any run of `-`, `_` and `.` is one `-`.
      return { namespace: [], name: input.name.toLowerCase().replace(/[-_.]+/g, '-') }
    case 'npm': {
      const slash = input.name.indexOf('/')
      return input.name.startsWith('@') && slash > 0 ? { namespace: [input.name.slice(0, slash)], name: input.name.slice(slash + 1) } : { namespace: [], name: input.name }
    }
    case 'golang': {
      // A module path: everything up to the last segment is the namespace.
      const segments = input.name.split('/')
      const name = segments.pop() ?? ''
      return { namespace: segments, name }
    }
  }
}

function encodePart (value: string): string {
  return encodeURIComponent(value).replace(/%3A/g, ':')
}
