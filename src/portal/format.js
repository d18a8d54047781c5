// Numbers for people, in decimal units as `docker images` uses them, with one decimal in tables.

export function bytes (n) {
  if (n === null || n === undefined) return '–'
  const sign = n < 0 ? '-' : ''
  let value = Math.abs(n)
  for (const unit of ['B', 'kB', 'MB', 'GB']) {
    if (value < 1000 || unit === 'GB') return `${sign}${unit === 'B' ? value : value.toFixed(1)} ${unit}`
    value /= 1000
  }
}

export function signedBytes (n) {
  return n > 0 ? `+${bytes(n)}` : bytes(n)
}

export function duration (ms) {
  if (ms === null || ms === undefined) return '–'
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`
  const minutes = Math.floor(ms / 60_000)
  const seconds = Math.round((ms % 60_000) / 1000)
  return minutes < 60 ? `${minutes} min ${seconds} s` : `${Math.floor(minutes / 60)} h ${minutes % 60} min`
}

/** How long a build has taken: until it ended, or until now while it runs. */
export function buildDuration (build) {
  if (build.durationMs !== null) return build.durationMs
  return build.startedAt ? Date.now() - Date.parse(build.startedAt) : null
}

export function time (iso) {
  if (!iso) return '–'
  return new Date(iso).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'medium' })
}

export function shortCommit (commit) {
  return commit ? commit.slice(0, 12) : '–'
}

/** What a build was made from: its repository URL, or an upload. */
export function source (build) {
  return build.request.repo ?? 'uploaded folder'
}

export const TERMINAL = ['succeeded', 'failed', 'canceled', 'timed_out']
