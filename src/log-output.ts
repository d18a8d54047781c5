import { pino } from 'pino'

// A write carries about this many bytes of lines (a dozen request lines)…
const BATCH_BYTES = 4096
// …or whatever has gathered by then: no line waits longer than this on a quiet process.
const FLUSH_MS = 100

/**
 * Where a Slipway process writes its log: standard output, in batches. Lines gather in memory
 * and go out in one plain write once they fill BATCH_BYTES, or every FLUSH_MS, and what is left
 * when the process exits is written then. Written asynchronously instead, each write was a round
 * trip through libuv's thread pool (a futex to wake a thread, an eventfd to say it is done), and
 * the one request line of a GET answered from memory cost the API 7–13 µs of its 48–55; in
 * batches, less than the benchmark's noise (bench/README.md). A process killed outright
 * (SIGKILL, the OOM killer) loses at most the last FLUSH_MS of lines. Writes block, as Node's own
 * writes to a pipe do on Linux: a reader that stops reading holds the process up, rather than
 * its memory growing without bound.
 */
export function createLogOutput (): ReturnType<typeof pino.destination> {
  const output = pino.destination({ dest: 1, sync: true, minLength: BATCH_BYTES })
  // Flushed on a timer of our own, only after lines came since the last tick: sonic-boom's
  // periodicFlush writes even when nothing waits (an empty write every FLUSH_MS, ten system calls
  // a second of an idle process). A batch that filled up went out by itself, and its tick then
  // makes the one empty write.
  let lines = false
  const write = output.write.bind(output)
  output.write = (data: string) => {
    lines = true
    return write(data)
  }
  setInterval(() => {
    if (!lines) return
    lines = false
    try {
      output.flush()
    } catch {
      // Destroyed (its reader is gone): nowhere left to write.
    }
  }, FLUSH_MS).unref()
  // pino writes out at exit only what an asynchronous destination holds; this one is synchronous.
  process.once('exit', () => {
    try {
      output.flushSync()
    } catch {
      // The reader is gone (EPIPE) or the stream was closed: there is nowhere left to write.
    }
  })
  return output
}
