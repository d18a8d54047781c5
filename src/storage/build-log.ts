import type { Redis } from 'ioredis'
import { TERMINAL_STATUSES, type BuildStatus } from '../domain/schemas/build.js'
import type { RedisKeys } from './keys.js'
import { keptLogBytes, LOG_BYTES_FIELD, logExpiryField } from './build-store.js'
import { withCommands } from './redis-commands.js'

export type LogStreamName = 'stdout' | 'stderr' | 'system'

/** A line the build printed. */
export interface LogLine {
  kind: 'line'
  /** The Redis stream entry id: unique, ordered, usable to resume. */
  id: string
  phase: string
  stream: LogStreamName
  /** Milliseconds since the epoch, when the worker saw the line. */
  ts: number
  text: string
}

/** A change of status or phase, kept in the same stream so it is ordered with the lines. */
export interface StatusEvent {
  kind: 'status'
  id: string
  ts: number
  status: BuildStatus
  phase: string | null
}

export type LogEvent = LogLine | StatusEvent

export interface LogWriter {
  write(phase: string, stream: LogStreamName, text: string): void
  /** Records a status or phase change; never dropped by the byte cap. */
  status(status: BuildStatus, phase: string | null): void
  /**
   * Resolves once buffered lines are few enough to accept more: callers reading a fast producer
   * await it. Below the high-water mark it waits for nothing, not even a write in flight.
   */
  drain(): Promise<void>
  /** Resolves once everything written so far is in Redis. */
  flush(): Promise<void>
  close(): Promise<void>
}

const FLUSH_DELAY_MS = 20
const FLUSH_LINES = 200
const HIGH_WATER_BYTES = 1024 * 1024

type Pending = Omit<LogLine, 'id'> | Omit<StatusEvent, 'id'>

/**
 * Appends a build's log to its Redis stream in small batches: what arrives within 20 ms (or 200
 * entries) goes in as one command (commands/appendLog-2.lua), one batch after another, so lines
 * keep their order and a follower waits at most one batch. Every line passes `redact` before it
 * is stored. The bytes kept per build are counted with the build (see the build store), so the
 * cap holds across worker restarts; past it lines are counted, not stored, and a marker says how
 * much was dropped.
 */
export async function openLogWriter (
  redis: Redis,
  keys: RedisKeys,
  buildId: string,
  options: { maxBytes: number; redact: (text: string) => string }
): Promise<LogWriter> {
  const streamKey = keys.log(buildId)
  let keptBytes = await keptLogBytes(redis, keys, buildId)
  let pending: Pending[] = []
  let pendingBytes = 0
  // Bytes handed to a write that has not finished yet: with `pendingBytes`, what drain() bounds.
  let writingBytes = 0
  let droppedBytes = 0
  let droppedLines = 0
  let timer: NodeJS.Timeout | undefined
  let flushing: Promise<void> = Promise.resolve()
  const connection = withCommands(redis)

  function append (entry: Pending, bytes: number) {
    pending.push(entry)
    pendingBytes += bytes
    // A failed background flush surfaces in flush() or close() (and drain() past the high-water
    // mark), which await the same chain.
    if (pending.length >= FLUSH_LINES) flush().catch(() => {})
    else timer ??= setTimeout(() => { flush().catch(() => {}) }, FLUSH_DELAY_MS)
  }

  function line (phase: string, stream: LogStreamName, text: string, bytes: number) {
    append({ kind: 'line', phase, stream, ts: Date.now(), text: options.redact(text) }, bytes)
  }

  function flush (): Promise<void> {
    clearTimeout(timer)
    timer = undefined
    if (pending.length === 0) return flushing
    const batch = pending
    const batchBytes = pendingBytes
    pending = []
    pendingBytes = 0
    writingBytes += batchBytes
    flushing = flushing.then(async () => {
      const args: string[] = []
      for (const entry of batch) {
        const fields = encode(entry)
        args.push(String(fields.length), ...fields)
      }
      try {
        await connection.appendLog(streamKey, keys.build(buildId), LOG_BYTES_FIELD, batchBytes, ...args)
      } finally {
        writingBytes -= batchBytes
      }
    })
    return flushing
  }

  return {
    write (phase, stream, text) {
      const bytes = Buffer.byteLength(text) + 1
      if (keptBytes + bytes <= options.maxBytes) {
        keptBytes += bytes
        line(phase, stream, text, bytes)
        return
      }
      if (droppedLines === 0) {
        line(phase, 'system', `[slipway] The log reached its limit of ${options.maxBytes} bytes; further lines are counted, not kept.`, 0)
      }
      droppedBytes += bytes
      droppedLines += 1
    },
    status (status, phase) {
      append({ kind: 'status', ts: Date.now(), status, phase }, 0)
    },
    async drain () {
      if (pendingBytes + writingBytes >= HIGH_WATER_BYTES) await flush()
    },
    flush,
    async close () {
      if (droppedLines > 0) {
        line('', 'system', `[slipway] ${droppedBytes} bytes in ${droppedLines} lines were dropped past the log limit.`, 0)
        droppedLines = 0
      }
      await flush()
    }
  }
}

// A status event is encoded so in commands/transitionBuild-2.lua too, which writes each change of status.
function encode (entry: Pending): string[] {
  return entry.kind === 'line'
    ? ['phase', entry.phase, 'stream', entry.stream, 'ts', String(entry.ts), 'text', entry.text]
    : ['event', 'status', 'status', entry.status, 'phase', entry.phase ?? '', 'ts', String(entry.ts)]
}

/** A stream entry as a log event. */
export function decodeLogEntry (id: string, fields: string[]): LogEvent {
  const entry: Record<string, string> = {}
  for (let i = 0; i + 1 < fields.length; i += 2) entry[fields[i]!] = fields[i + 1]!
  const ts = Number(entry.ts)
  if (entry.event === 'status') return { kind: 'status', id, ts, status: entry.status as BuildStatus, phase: entry.phase || null }
  return { kind: 'line', id, ts, phase: entry.phase ?? '', stream: (entry.stream ?? 'stdout') as LogStreamName, text: entry.text ?? '' }
}

const BATCH = 1000

/** A build's log events in order, after the given entry id (exclusive), in batches of a bounded size (none empty). */
export async function * readLogBatches (redis: Redis, keys: RedisKeys, buildId: string, after = '0-0'): AsyncGenerator<LogEvent[]> {
  let start = `(${after}`
  for (;;) {
    const batch = await redis.xrange(keys.log(buildId), start, '+', 'COUNT', BATCH)
    if (batch.length > 0) yield batch.map(([id, fields]) => decodeLogEntry(id, fields))
    if (batch.length < BATCH) return
    start = `(${batch[batch.length - 1]![0]}`
  }
}

/** A build's log events in order, after the given entry id (exclusive). */
export async function * readLogEvents (redis: Redis, keys: RedisKeys, buildId: string, after = '0-0'): AsyncGenerator<LogEvent> {
  for await (const batch of readLogBatches(redis, keys, buildId, after)) yield * batch
}

/** The entry id just before the last `lines` lines: reading after it gives the tail of the log. */
export async function tailStart (redis: Redis, keys: RedisKeys, buildId: string, lines: number): Promise<string> {
  let end = '+'
  let found = 0
  for (;;) {
    const batch = await redis.xrevrange(keys.log(buildId), end, '-', 'COUNT', BATCH)
    for (const [id, fields] of batch) {
      if (decodeLogEntry(id, fields).kind === 'line') found += 1
      if (found === lines) return previousId(id)
    }
    if (batch.length < BATCH) return '0-0'
    end = `(${batch[batch.length - 1]![0]}`
  }
}

/** Build logs, read and written by build id. */
export function createBuildLogs (redis: Redis, keys: RedisKeys) {
  return {
    openWriter: (buildId: string, options: { maxBytes: number; redact: (text: string) => string }) => openLogWriter(redis, keys, buildId, options),
    readBatches: (buildId: string, after?: string) => readLogBatches(redis, keys, buildId, after),
    readEvents: (buildId: string, after?: string) => readLogEvents(redis, keys, buildId, after),
    tailStart: (buildId: string, lines: number) => tailStart(redis, keys, buildId, lines),
    /**
     * Removes an ended build's log and notes when in its record (SLIPWAY_LOG_RETENTION), unless
     * the build is gone, running, or its log went already; whether it did.
     */
    expire: async (buildId: string, at: Date): Promise<boolean> =>
      (await withCommands(redis).expireLog(keys.build(buildId), keys.log(buildId), TERMINAL_STATUSES.join(','), ...logExpiryField(at), keys.buildChanges, buildId)) === 1
  }
}

export type BuildLogs = ReturnType<typeof createBuildLogs>

/** The largest possible stream id below `id`, so that reading after it starts at `id`. */
function previousId (id: string): string {
  const [ms, seq] = id.split('-').map(BigInt) as [bigint, bigint]
  if (seq > 0n) return `${ms}-${seq - 1n}`
  return ms > 0n ? `${ms - 1n}-18446744073709551615` : '0-0'
}
