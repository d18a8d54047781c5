// Numbers as people read them: in the build log, the CLI, chat messages and the portal alike.
//
// This file, build-status.js, build-summary.js and actor-text.js are plain JavaScript with JSDoc
// types rather than TypeScript, so that the browser runs the very code the server runs: no bundler,
// no build step for the portal, and no second copy that rounds differently. The server imports them
// like any module (tsconfig.json has allowJs and checkJs: tsc checks them, and emits them into
// dist/ with the rest). The portal imports them by their relative path in the source tree, which in
// the browser is /domain/format.js; src/api/routes/portal.ts serves them from next to the running
// code: src/domain under tests, dist/src/domain after `npm run build` and in the Docker image. A
// .ts file would have to be compiled or stripped of its types before a browser could load it: a
// build step for the portal, and a different file to serve under tap (which runs the sources) than
// in production. So these stay pure and stand alone: no Node API (tsconfig.portal.json checks them
// without Node's types) and no import but one another (.dependency-cruiser.cjs).

/**
 * "850 ms", "45 s", "1 min 12 s", "2 h 5 min".
 * @param {number} ms
 * @returns {string}
 */
export function formatDuration (ms) {
  if (ms < 1000) return `${Math.max(0, Math.round(ms))} ms`
  const seconds = Math.round(ms / 1000)
  if (seconds < 60) return `${seconds} s`
  const minutes = Math.floor(seconds / 60)
  if (minutes < 60) return seconds % 60 === 0 ? `${minutes} min` : `${minutes} min ${seconds % 60} s`
  const hours = Math.floor(minutes / 60)
  return minutes % 60 === 0 ? `${hours} h` : `${hours} h ${minutes % 60} min`
}

const BYTE_UNITS = ['B', 'kB', 'MB', 'GB', 'TB', 'PB']
/**
 * Decimal units with 3 significant digits, as `docker images` shows sizes: "176 MB", "5.34 MB";
 * a negative amount (a size that shrank) keeps its sign: "-2.1 MB".
 * @param {number} bytes
 * @returns {string}
 */
export function formatBytes (bytes) {
  if (bytes < 0) return `-${formatBytes(-bytes)}`
  let value = bytes
  let unit = 0
  while (value >= 1000 && unit < BYTE_UNITS.length - 1) {
    value /= 1000
    unit += 1
  }
  let rounded = unit === 0 ? Math.round(value) : Number(value.toPrecision(3))
  if (rounded >= 1000 && unit < BYTE_UNITS.length - 1) {
    rounded = Number((rounded / 1000).toPrecision(3))
    unit += 1
  }
  return `${rounded} ${BYTE_UNITS[unit]}`
}

/**
 * A change in size, always with its sign: "+2.1 MB", "-512 kB", "+0 B".
 * @param {number} bytes
 * @returns {string}
 */
export function formatByteChange (bytes) {
  return bytes < 0 ? formatBytes(bytes) : `+${formatBytes(bytes)}`
}

/**
 * "upload 3f2a9c1d0b7e (1.2 MB)": an uploaded source, by the start of its sha256, where a repository would be named.
 * @param {{ sha256: string, sizeBytes: number } | undefined} source
 * @returns {string}
 */
export function formatUpload (source) {
  return source ? `upload ${source.sha256.slice(0, 12)} (${formatBytes(source.sizeBytes)})` : 'upload'
}

const MINUTE = 60_000
const DAY = 24 * 60 * MINUTE

/**
 * How long ago, as precisely as a glance needs: "12 s ago", "3 min ago", "2 h 5 min ago", "4 days
 * ago"; past a month, the date. A page puts the exact time in the element's title.
 * @param {string} iso
 * @param {number} [now]
 * @returns {string}
 */
export function formatAgo (iso, now = Date.now()) {
  const ms = Math.max(0, now - Date.parse(iso))
  if (ms < MINUTE) return `${Math.floor(ms / 1000)} s ago`
  if (ms < DAY) return `${formatDuration(Math.floor(ms / MINUTE) * MINUTE)} ago`
  const days = Math.floor(ms / DAY)
  if (days <= 30) return `${days} ${days === 1 ? 'day' : 'days'} ago`
  return new Date(iso).toLocaleDateString(undefined, { dateStyle: 'medium' })
}
