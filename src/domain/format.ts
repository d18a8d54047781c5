// Numbers as people read them, in logs and notifications alike.

/** "850 ms", "45 s", "1 min 12 s", "2 h 5 min". */
export function formatDuration (ms: number): string {
  if (ms < 1000) return `${Math.max(0, Math.round(ms))} ms`
  const seconds = Math.round(ms / 1000)
  if (seconds < 60) return `${seconds} s`
  const minutes = Math.floor(seconds / 60)
  if (minutes < 60) return seconds % 60 === 0 ? `${minutes} min` : `${minutes} min ${seconds % 60} s`
  const hours = Math.floor(minutes / 60)
  return minutes % 60 === 0 ? `${hours} h` : `${hours} h ${minutes % 60} min`
}

const BYTE_UNITS = ['B', 'kB', 'MB', 'GB', 'TB', 'PB']
/** Decimal units with 3 significant digits, as `docker images` shows sizes: "176 MB", "5.34 MB". */
export function formatBytes (bytes: number): string {
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

/** "upload 3f2a9c1d0b7e (1.2 MB)": an uploaded source, by the start of its sha256, where a repository would be named. */
export function formatUpload (source: { sha256: string; sizeBytes: number } | undefined): string {
  return source ? `upload ${source.sha256.slice(0, 12)} (${formatBytes(source.sizeBytes)})` : 'upload'
}
