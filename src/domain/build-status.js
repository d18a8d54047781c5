// A build's states, for the server (schemas, stores, workers), the CLI and the portal alike: plain
// JavaScript with JSDoc types so that the browser loads this very file (see format.js for how).

/** queued → running → one of the terminal states. The order is the one lists and filters show. */
export const BUILD_STATUSES = /** @type {const} */ (['queued', 'running', 'succeeded', 'failed', 'canceled', 'timed_out'])

/** @typedef {(typeof BUILD_STATUSES)[number]} BuildStatus */

/**
 * The states a build never leaves.
 * @type {readonly BuildStatus[]}
 */
export const TERMINAL_STATUSES = ['succeeded', 'failed', 'canceled', 'timed_out']

/**
 * Whether a build in `status` has ended.
 * @param {BuildStatus} status
 * @returns {boolean}
 */
export function isTerminal (status) {
  return TERMINAL_STATUSES.includes(status)
}

/**
 * The state as a word for people: "timed out".
 * @param {BuildStatus} status
 * @returns {string}
 */
export function statusText (status) {
  return status.replace('_', ' ')
}
