import type { Build, BuildRecord } from '../schemas/build.js'

/** The build as answers and events show it: the record with its links. */
export function toResource(record: BuildRecord): Build {
  const self = `/v1/builds/${record.id}`
  return { ...record, links: { self, logs: `${self}/logs` } }
}
