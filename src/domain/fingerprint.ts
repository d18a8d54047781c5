import { createHash } from 'node:crypto'

/** A stable hash of a JSON value: object keys sorted at every level, so key order never matters. */
export function fingerprint (value: unknown): string {
  return createHash('sha256').update(canonical(value)).digest('hex')
}

function canonical (value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`
  if (value && typeof value === 'object') {
    const entries = Object.entries(value).filter(([, v]) => v !== undefined)
    return `{${entries
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`)
      .join(',')}}`
  }
  return JSON.stringify(value)
}
