import type { Redis } from 'ioredis'
import { TERMINAL_STATUSES } from '../schemas/build.js'
import { decodeLogEntry, type LogEvent } from './build-log.js'
import type { RedisKeys } from './keys.js'

// How long a follower waits on an idle log before it asks whether the build has ended anyway
// (its worker died after its last line, or it ended without running).
const IDLE_CHECK_MS = 5000
const BATCH = 1000

/**
 * Follows a build's log as it is written, from any API process: the worker appends to the Redis
 * stream and this reads it with XREAD BLOCK, on a connection of its own since BLOCK holds it.
 * Yields every entry after `after` exactly once, in order, and returns once the build has ended
 * and its last entry is read. Disconnecting `blocking` stops it.
 */
export async function* followLog(
  blocking: Redis,
  keys: RedisKeys,
  buildId: string,
  options: { after: string; isFinished: () => Promise<boolean> }
): AsyncGenerator<LogEvent> {
  const key = keys.log(buildId)
  let cursor = options.after
  const read = async (block: boolean) => {
    const args = block ? ['BLOCK', IDLE_CHECK_MS] : []
    const result = await blocking.xread('COUNT', BATCH, ...(args as ['BLOCK', number]), 'STREAMS', key, cursor)
    return result?.[0]?.[1] ?? []
  }
  // A build that has already ended is read to its end, without waiting on an idle stream.
  let finished = await options.isFinished()
  for (;;) {
    const entries = await read(!finished)
    for (const [id, fields] of entries) {
      const event = decodeLogEntry(id, fields)
      cursor = id
      yield event
      if (event.kind === 'status' && TERMINAL_STATUSES.includes(event.status)) finished = true
    }
    if (entries.length === BATCH) continue
    if (finished) {
      // Entries may have landed between the last read and learning the build ended.
      if (entries.length === 0) return
      continue
    }
    if (entries.length === 0) finished = await options.isFinished()
  }
}
