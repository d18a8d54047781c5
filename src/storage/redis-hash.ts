// Records stored as Redis hashes: one field per property, each JSON-encoded except the ones named
// raw (kept as plain strings so Lua scripts can compare them). A change writes only its fields.

export function encodeHash (record: object, raw: readonly string[] = []): Record<string, string> {
  const fields: Record<string, string> = {}
  for (const [field, value] of Object.entries(record)) {
    if (value === undefined) continue
    fields[field] = raw.includes(field) ? String(value) : JSON.stringify(value)
  }
  return fields
}

/** The record, or null for a missing hash (one without its `id`). */
export function decodeHash<T> (hash: Record<string, string>, raw: readonly string[] = []): T | null {
  if (!hash.id) return null
  const record: Record<string, unknown> = {}
  for (const [field, value] of Object.entries(hash)) record[field] = raw.includes(field) ? value : JSON.parse(value)
  return record as T
}
