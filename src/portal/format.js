// How pages show numbers and times. Sizes and durations are the server's own functions
// (src/domain/format.js, which the browser loads from /domain/format.js), so the portal rounds
// exactly as the CLI, the build log and chat messages do; this adds what a page needs around
// them: a dash for what is not known (yet), local and relative times, short commits.

import { formatByteChange, formatBytes, formatDuration, formatUpload } from '../domain/format.js'

// How long ago, as the CLI says it too.
export { formatAgo as ago } from '../domain/format.js'

/** @import { Build } from '../domain/schemas/build.js' */

const UNKNOWN = '–'

/**
 * @param {number | null | undefined} n
 * @returns {string}
 */
export function bytes (n) {
  return n === null || n === undefined ? UNKNOWN : formatBytes(n)
}

/**
 * A change in size, with its sign: "+2.1 MB".
 * @param {number} n
 * @returns {string}
 */
export function signedBytes (n) {
  return formatByteChange(n)
}

/**
 * @param {number | null | undefined} ms
 * @returns {string}
 */
export function duration (ms) {
  return ms === null || ms === undefined ? UNKNOWN : formatDuration(ms)
}

/**
 * How long a build has taken: until it ended, or until now while it runs.
 * @param {Pick<Build, 'durationMs' | 'startedAt'>} build
 * @returns {number | null}
 */
export function buildDuration (build) {
  if (build.durationMs !== null) return build.durationMs
  return build.startedAt ? Date.now() - Date.parse(build.startedAt) : null
}

/**
 * @param {string | null | undefined} iso
 * @returns {string}
 */
export function time (iso) {
  if (!iso) return UNKNOWN
  return new Date(iso).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'medium' })
}

/**
 * A time as a person says it: "12:03" today, with the date on another day.
 * @param {string} iso
 * @returns {string}
 */
export function clock (iso) {
  const at = new Date(iso)
  const today = at.toDateString() === new Date().toDateString()
  return at.toLocaleString(undefined, today ? { hour: 'numeric', minute: '2-digit' } : { dateStyle: 'medium', timeStyle: 'short' })
}

/**
 * @param {string | null | undefined} commit
 * @returns {string}
 */
export function shortCommit (commit) {
  return commit ? commit.slice(0, 12) : UNKNOWN
}

/**
 * What a build was made from: its repository URL, or an upload by its digest and size,
 * "upload 3f2a9c1d0b7e (1.2 MB)".
 * @param {{ request: Pick<Build['request'], 'repo' | 'source'> }} build
 * @returns {string}
 */
export function source (build) {
  return build.request.repo ?? formatUpload(build.request.source)
}
