import type { Build, BuildRecord } from '../schemas/build.js'

/** Where a build and its log are read. */
export function buildLinks (id: string): Build['links'] {
  const self = `/v1/builds/${id}`
  return { self, logs: `${self}/logs` }
}

// Records stored before Slipway kept who made and canceled builds, their network, when their log
// expired, their cache summary and where they ran lack these fields; an answer without them would
// not match the schema.
const UNRECORDED = { createdBy: null, canceledBy: null, canceledAt: null, logExpiredAt: null, cache: null, ranOn: null }

/** The build as answers and events show it: the record with its links. */
export function toResource (record: BuildRecord): Build {
  return { ...UNRECORDED, ...record, request: { ...record.request, network: record.request.network ?? 'default' }, links: buildLinks(record.id) }
}
