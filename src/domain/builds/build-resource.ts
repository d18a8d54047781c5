import type { Build, BuildRecord } from '../schemas/build.js'

/** Where a build and its log are read. */
export function buildLinks (id: string): Build['links'] {
  const self = `/v1/builds/${id}`
  return { self, logs: `${self}/logs` }
}

// Records stored before Slipway kept who made and canceled builds, their network, when their log
// expired, their cache summary, where they ran, their registry cache, base images, packages, attestations and signature (and the secrets they used, and where they report) lack these fields; an
// answer without them would not match the schema.
const UNRECORDED = { createdBy: null, canceledBy: null, canceledAt: null, logExpiredAt: null, cache: null, ranOn: null, registryCache: null, baseImages: null, packages: null, attestations: null, signature: null }

/** The build as answers and events show it: the record with its links. */
export function toResource (record: BuildRecord): Build {
  return { ...UNRECORDED, ...record, request: withRequestDefaults(record.request), links: buildLinks(record.id) }
}

/** A stored request with the fields older records lack as their defaults then were. */
export function withRequestDefaults (request: BuildRecord['request']): BuildRecord['request'] {
  return { ...request, network: request.network ?? 'default', registryCache: request.registryCache ?? true, cacheFrom: request.cacheFrom ?? [], sbom: request.sbom ?? false, provenance: request.provenance ?? false, sign: request.sign ?? false, secrets: request.secrets ?? [], ssh: request.ssh ?? [], report: request.report ?? null }
}
