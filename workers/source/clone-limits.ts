import { lstat, readdir } from 'node:fs/promises'
import path from 'node:path'
import { BuildFailure } from '../../src/domain/builds/build-failure.js'

export interface CloneLimits {
  timeoutMs: number
  maxBytes: number
}

const WATCH_MS = 1000

/**
 * Runs a clone under its own limits: time, and the bytes it adds to `dir` (looked at every second
 * while git works, and once more at the end), either aborting git through the signal it is given.
 * Added bytes, not the folder's size: a mirror keeps what earlier builds fetched, and only this
 * fetch is held to the limit.
 */
export async function withinCloneLimits<T> (dir: string, limits: CloneLimits, signal: AbortSignal, clone: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const timeout = AbortSignal.timeout(limits.timeoutMs)
  const maxSize = (await sizeOf(dir)) + limits.maxBytes
  const tooLarge = new AbortController()
  let measuring = false
  const watch = setInterval(() => {
    if (measuring) return
    measuring = true
    void sizeOf(dir)
      .then((bytes) => bytes > maxSize && tooLarge.abort())
      .finally(() => (measuring = false))
  }, WATCH_MS)
  const failure = () =>
    new BuildFailure('CLONE_TOO_LARGE', `The clone grew past ${limits.maxBytes} bytes (SLIPWAY_CLONE_MAX_BYTES) and was stopped.`)
  try {
    const result = await clone(AbortSignal.any([signal, timeout, tooLarge.signal]))
    if ((await sizeOf(dir)) > maxSize) throw failure()
    return result
  } catch (error) {
    if (tooLarge.signal.aborted) throw failure()
    if (timeout.aborted && !signal.aborted) {
      throw new BuildFailure('CLONE_TIMED_OUT', `Cloning took longer than ${limits.timeoutMs / 1000} s (SLIPWAY_CLONE_TIMEOUT_SECONDS) and was stopped.`)
    }
    throw error
  } finally {
    clearInterval(watch)
  }
}

/** Bytes of the files under `dir` (symlinks count as links, not what they point at). */
async function sizeOf (dir: string): Promise<number> {
  let total = 0
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => [])
  for (const entry of entries) {
    const full = path.join(dir, entry.name)
    if (entry.isDirectory()) total += await sizeOf(full)
    else total += (await lstat(full).catch(() => ({ size: 0 }))).size
  }
  return total
}
