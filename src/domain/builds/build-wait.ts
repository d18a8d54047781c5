import { WaitTooLong } from '../errors.js'

/** The longest a GET of a build may wait for its status to change. */
export const MAX_WAIT_SECONDS = 60

/** `wait`'s grammar: whole seconds, bare or with s, or whole minutes with m. */
export const WAIT_PATTERN = '^[0-9]{1,6}[sm]?$'

/** A `wait` as written (`30s`, `1m`, `45`) in ms; WAIT_TOO_LONG past MAX_WAIT_SECONDS. The schema has checked its grammar. */
export function waitMs (text: string): number {
  const seconds = Number(text.replace(/[sm]$/, '')) * (text.endsWith('m') ? 60 : 1)
  if (seconds > MAX_WAIT_SECONDS) throw new WaitTooLong(text, MAX_WAIT_SECONDS, MAX_WAIT_SECONDS)
  return seconds * 1000
}
