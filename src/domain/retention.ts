// How long history is kept (docs/operations/retention.md): durations written as operators write
// them, `15m`, `12h` or `90d`, and the settings that decide what the retention sweeper removes.

/** A duration setting's grammar: a whole number and a unit, minutes, hours or days. */
export const DURATION_PATTERN = '^[1-9][0-9]{0,6}[mhd]$'
export const DURATION_EXPECTED = 'a duration: a whole number followed by m (minutes), h (hours) or d (days), e.g. 15m, 12h or 90d'

const UNIT_MS = { m: 60_000, h: 3_600_000, d: 86_400_000 } as const

/** A duration such as `90d` in milliseconds; null when it is not written so. */
export function parseDuration (text: string): number | null {
  const match = new RegExp(DURATION_PATTERN).exec(text.trim())
  if (!match) return null
  const unit = text.trim().slice(-1) as keyof typeof UNIT_MS
  return Number(text.trim().slice(0, -1)) * UNIT_MS[unit]
}

/** What the retention sweeper keeps and removes, in milliseconds. */
export interface RetentionPolicy {
  /** Terminal builds that ended longer ago than this are removed (SLIPWAY_RETENTION). */
  recordsMs: number
  /** Their logs go after this, which is at most recordsMs (SLIPWAY_LOG_RETENTION). */
  logsMs: number
  /** The newest this many builds of each repository and ref are kept whatever their age (SLIPWAY_RETENTION_KEEP_LAST). */
  keepLast: number
  /** Audit entries older than this are trimmed (SLIPWAY_AUDIT_RETENTION). */
  auditMs: number
}

/** How long an ended build's record is kept (SLIPWAY_RETENTION, checked by loadConfig), in ms. */
export function recordsLifetimeMs (retention: string): number {
  return parseDuration(retention) ?? 90 * UNIT_MS.d
}

/** The policy of valid settings (loadConfig has checked them). */
export function retentionPolicy (settings: { retention: string; logRetention: string; retentionKeepLast: number; auditRetention: string }): RetentionPolicy {
  const recordsMs = recordsLifetimeMs(settings.retention)
  const logsMs = settings.logRetention === '' ? recordsMs : Math.min(parseDuration(settings.logRetention) ?? recordsMs, recordsMs)
  return { recordsMs, logsMs, keepLast: settings.retentionKeepLast, auditMs: parseDuration(settings.auditRetention) ?? 365 * UNIT_MS.d }
}

/** Why settings of retention cannot work together, or null. */
export function retentionProblem (settings: { retention: string; logRetention: string }): string | null {
  const records = parseDuration(settings.retention)
  const logs = settings.logRetention === '' ? null : parseDuration(settings.logRetention)
  if (records !== null && logs !== null && logs > records) {
    return (
      `SLIPWAY_LOG_RETENTION=${settings.logRetention} keeps logs longer than SLIPWAY_RETENTION=${settings.retention} keeps their builds, ` +
      'and a log goes with its build. Set SLIPWAY_LOG_RETENTION to at most SLIPWAY_RETENTION, or leave it empty to keep logs as long as builds.'
    )
  }
  return null
}

/**
 * The group a build's ref counts in for SLIPWAY_RETENTION_KEEP_LAST: the ref as requested; `HEAD`
 * for none (the default branch); `@commit` for a commit id (a retry names the commit its original
 * built, and CI often sends one), so that builds of commits share one group rather than each
 * being the newest of its own, which would keep them all for good.
 */
export function refGroup (ref: string | null): string {
  if (ref === null) return 'HEAD'
  return /^[0-9a-f]{7,64}$/i.test(ref) ? '@commit' : ref
}
