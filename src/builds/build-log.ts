import type { Redis } from 'ioredis'
import type { RedisKeys } from './keys.js'

export type LogStreamName = 'stdout' | 'stderr' | 'system'

export interface LogEntry {
  /** The Redis stream entry id: unique, ordered, usable to resume. */
  id: string
  phase: string
  stream: LogStreamName
  /** Milliseconds since the epoch, when the worker saw the line. */
  ts: number
  text: string
}

export interface LogWriter {
  write(phase: string, stream: LogStreamName, text: string): void
  /** Resolves once buffered lines are few enough to accept more: callers reading a fast producer await it. */
  drain(): Promise<void>
  close(): Promise<void>
}

const FLUSH_DELAY_MS = 20
const FLUSH_LINES = 200
const HIGH_WATER_BYTES = 1024 * 1024

/**
 * Appends a build's log lines to its Redis stream in small batches. The bytes kept per build are
 * counted in the build hash (`logBytes`), so the cap holds across worker restarts; past it lines are
 * counted, not stored, and a marker says how much was dropped.
 */
export async function openLogWriter(
  redis: Redis,
  keys: RedisKeys,
  buildId: string,
  maxBytes: number
): Promise<LogWriter> {
  const streamKey = keys.log(buildId)
  const buildKey = keys.build(buildId)
  let keptBytes = Number(await redis.hget(buildKey, 'logBytes')) || 0
  let pending: Omit<LogEntry, 'id'>[] = []
  let pendingBytes = 0
  let droppedBytes = 0
  let droppedLines = 0
  let timer: NodeJS.Timeout | undefined
  let flushing: Promise<void> = Promise.resolve()

  function append(phase: string, stream: LogStreamName, text: string, bytes: number) {
    pending.push({ phase, stream, ts: Date.now(), text })
    pendingBytes += bytes
    // A failed background flush surfaces in drain() or close(), which await the same chain.
    if (pending.length >= FLUSH_LINES) flush().catch(() => {})
    else timer ??= setTimeout(() => flush().catch(() => {}), FLUSH_DELAY_MS)
  }

  function flush(): Promise<void> {
    clearTimeout(timer)
    timer = undefined
    if (pending.length === 0) return flushing
    const batch = pending
    const batchBytes = pendingBytes
    pending = []
    pendingBytes = 0
    flushing = flushing.then(async () => {
      const pipeline = redis.pipeline()
      for (const entry of batch) {
        pipeline.xadd(streamKey, '*', 'phase', entry.phase, 'stream', entry.stream, 'ts', String(entry.ts), 'text', entry.text)
      }
      pipeline.hincrby(buildKey, 'logBytes', batchBytes)
      await pipeline.exec()
    })
    return flushing
  }

  return {
    write(phase, stream, text) {
      const bytes = Buffer.byteLength(text) + 1
      if (keptBytes + bytes <= maxBytes) {
        keptBytes += bytes
        append(phase, stream, text, bytes)
        return
      }
      if (droppedLines === 0) {
        append(phase, 'system', `[slipway] The log reached its limit of ${maxBytes} bytes; further lines are counted, not kept.`, 0)
      }
      droppedBytes += bytes
      droppedLines += 1
    },
    async drain() {
      if (pendingBytes >= HIGH_WATER_BYTES) await flush()
      else await flushing
    },
    async close() {
      if (droppedLines > 0) {
        append('', 'system', `[slipway] ${droppedBytes} bytes in ${droppedLines} lines were dropped past the log limit.`, 0)
      }
      await flush()
    }
  }
}

/** Reads a build's log entries in order, after the given entry id (exclusive), in bounded batches. */
export async function* readLogEntries(
  redis: Redis,
  keys: RedisKeys,
  buildId: string,
  after = '-'
): AsyncGenerator<LogEntry> {
  let start = after === '-' ? '-' : `(${after}`
  for (;;) {
    const batch = await redis.xrange(keys.log(buildId), start, '+', 'COUNT', 1000)
    for (const [id, fields] of batch) yield toEntry(id, fields)
    if (batch.length < 1000) return
    start = `(${batch[batch.length - 1]![0]}`
  }
}

function toEntry(id: string, fields: string[]): LogEntry {
  const entry: Record<string, string> = {}
  for (let i = 0; i + 1 < fields.length; i += 2) entry[fields[i]!] = fields[i + 1]!
  return {
    id,
    phase: entry.phase ?? '',
    stream: (entry.stream ?? 'stdout') as LogStreamName,
    ts: Number(entry.ts),
    text: entry.text ?? ''
  }
}
