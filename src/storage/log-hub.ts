import { setTimeout as sleep } from 'node:timers/promises'
import type { Redis } from 'ioredis'
import { TERMINAL_STATUSES } from '../domain/schemas/build.js'
import { decodeLogEntry, type LogEvent } from './build-log.js'
import type { RedisKeys } from './keys.js'

// How long a followed log may be idle before the hub asks whether its build has ended anyway (its
// worker died after its last line, or it ended without running): once per build, however many
// follow it.
const IDLE_CHECK_MS = 5000
const BATCH = 1000
// A blocking read waits this long; a log followed meanwhile interrupts it with CLIENT UNBLOCK.
const BLOCK_MS = 5000
// Where CLIENT UNBLOCK is refused (a managed Redis, an ACL), reads wait only this long, and a log
// followed meanwhile joins the next one.
const SHORT_BLOCK_MS = 100
// A follower whose reader falls this many entries behind leaves the fan-out and reads on by
// itself, at its own pace, so a stalled client holds no more than this in memory.
const MAX_PENDING = BATCH
const RETRY_MS = 500

/** One follow of one build's log: its events, and how to end it early. */
export interface Follow {
  /**
   * Every entry after the follow's cursor, once, in order, until the build ends, in batches (none
   * empty) of what arrived together, so a reader writes each batch at once. Throws once `stop()`
   * was called, so that a stopped follow never looks like a build that ended.
   */
  events: AsyncGenerator<LogEvent[]>
  stop: () => void
}

interface Follower {
  key: string
  buildId: string
  /** The last entry this follower has, or has waiting in `pending`. */
  cursor: string
  /** Entries the hub read for it that its reader has not taken yet. */
  pending: LogEvent[]
  /** In the hub's fan-out; otherwise it is catching up by itself. */
  live: boolean
  /** The hub read the build's end: after `pending`, nothing more comes. */
  ended: boolean
  stopped: boolean
  failure: Error | null
  wake: (() => void) | null
  /** Called once when the follow ends, however it ends. */
  onEnd: () => void
}

interface Stream {
  key: string
  buildId: string
  /** The last entry the hub has read. */
  cursor: string
  followers: Set<Follower>
  lastSeenAt: number
  checking: boolean
}

const isEnd = (event: LogEvent) => event.kind === 'status' && TERMINAL_STATUSES.includes(event.status)

/** Orders stream entry ids ("ms-seq", both without leading zeros). */
function compareIds (a: string, b: string): number {
  const [aMs = '', aSeq = ''] = a.split('-')
  const [bMs = '', bSeq = ''] = b.split('-')
  const digits = (x: string, y: string) => x.length - y.length || (x < y ? -1 : x > y ? 1 : 0)
  return digits(aMs, bMs) || digits(aSeq, bSeq)
}

/** An id as Redis writes it: a Last-Event-ID may come with leading zeros. */
const canonicalId = (id: string) => id.split('-').map((part) => BigInt(part).toString()).join('-')

/**
 * Live build logs for every follower of this process over one blocking Redis connection: one
 * XREAD BLOCK reads all followed logs at once and fans each entry out to the followers of its
 * build. A follower first catches up from its own cursor with non-blocking reads on the shared
 * connection and joins the fan-out only where the hub has not read past it, so it gets every entry
 * after its cursor exactly once and in order.
 */
export function createLogHub (deps: {
  redis: Redis
  keys: RedisKeys
  isFinished: (buildId: string) => Promise<boolean>
  logger?: { warn(details: object, message: string): void }
}) {
  const { redis, keys } = deps
  const streams = new Map<string, Stream>()
  // Every follow, whether in the fan-out or catching up, so that closing stops them all.
  const following = new Set<Follower>()
  let reader: Redis | null = null
  let readerId: string | null = null
  // Whether CLIENT UNBLOCK may be sent: null until probed, once.
  let unblockAllowed: boolean | null = null
  let reading = false
  let blocked = false
  let reads = 0
  let closed = false
  let failing = false
  let idleTimer: NodeJS.Timeout | null = null

  function openReader (): Redis {
    const name = redis.options.connectionName ? `${redis.options.connectionName}:log-hub` : 'log-hub'
    // A read cut by a lost connection fails (it is not re-sent, by then with old cursors) and the
    // loop reads again once the connection is back.
    const connection = redis.duplicate({ connectionName: name, enableOfflineQueue: true, maxRetriesPerRequest: null, autoResendUnfulfilledCommands: false })
    connection.on('error', () => undefined)
    connection.on('close', () => (readerId = null))
    return connection
  }

  /** The reader's client id, and whether CLIENT UNBLOCK may interrupt it, before its next read. */
  async function prepareUnblock (connection: Redis): Promise<void> {
    if (readerId !== null || unblockAllowed === false) return
    try {
      readerId = String(await connection.call('CLIENT', 'ID'))
      // Unblocking a client that is not blocked answers 0, or an error where CLIENT is refused.
      if (unblockAllowed === null) await redis.call('CLIENT', 'UNBLOCK', readerId)
      unblockAllowed = true
    } catch (error) {
      if ((error as Error).name !== 'ReplyError') throw error
      unblockAllowed = false
    }
  }

  async function readLoop (): Promise<void> {
    reading = true
    try {
      while (!closed && streams.size > 0) {
        let sent: Stream[] = []
        let reply: [string, [string, string[]][]][] | null
        try {
          reader ??= openReader()
          await prepareUnblock(reader)
          // Taken as the read is sent: a log followed from here on interrupts this read.
          sent = [...streams.values()]
          if (sent.length === 0) continue
          blocked = true
          const block = unblockAllowed ? BLOCK_MS : SHORT_BLOCK_MS
          reply = (await reader.xread('COUNT', BATCH, 'BLOCK', block, 'STREAMS', ...sent.map((s) => s.key), ...sent.map((s) => s.cursor)))
          failing = false
        } catch (error) {
          if (closed) return
          if (!failing) deps.logger?.warn({ err: error }, 'reading followed build logs failed; retrying')
          failing = true
          await sleep(RETRY_MS)
          continue
        } finally {
          blocked = false
          reads += 1
        }
        const byKey = new Map(sent.map((stream) => [stream.key, stream]))
        for (const [key, entries] of reply ?? []) {
          const stream = byKey.get(key)
          // Left by its last follower, or ended, while the read was out.
          if (stream && streams.get(key) === stream) deliver(stream, entries)
        }
      }
    } finally {
      reading = false
    }
  }

  /** Gets a newly followed log into the next read at once, rather than after the current one. */
  async function interruptRead (): Promise<void> {
    const read = reads
    // The read may not have reached Redis yet, and then there is nothing to unblock: try again
    // until that read has returned.
    while (!closed && blocked && reads === read && unblockAllowed && readerId !== null) {
      try {
        if (Number(await redis.call('CLIENT', 'UNBLOCK', readerId)) === 1) return
      } catch {
        // Redis is unreachable: the read fails too, and the loop reads again.
        return
      }
      await sleep(2)
    }
  }

  function deliver (stream: Stream, entries: [string, string[]][]): void {
    if (entries.length === 0) return
    stream.lastSeenAt = Date.now()
    const events = entries.map(([id, fields]) => decodeLogEntry(id, fields))
    stream.cursor = events[events.length - 1]!.id
    for (const follower of stream.followers) hand(follower, events)
    if (events.some(isEnd)) void endStream(stream)
  }

  function hand (follower: Follower, events: LogEvent[]): void {
    // Usually the whole batch is new to the follower: one comparison then, not one per entry.
    const fresh = compareIds(events[0]!.id, follower.cursor) > 0 ? events : events.filter((event) => compareIds(event.id, follower.cursor) > 0)
    if (fresh.length === 0) return
    follower.pending.push(...fresh)
    follower.cursor = fresh[fresh.length - 1]!.id
    if (follower.pending.length > MAX_PENDING) leave(follower)
    wakeUp(follower)
  }

  /** The build has ended: what was written after the last read goes out, then its followers end. */
  async function endStream (stream: Stream): Promise<void> {
    if (streams.get(stream.key) !== stream) return
    streams.delete(stream.key)
    try {
      for (;;) {
        const entries = await redis.xrange(stream.key, `(${stream.cursor}`, '+', 'COUNT', BATCH)
        deliver(stream, entries)
        if (entries.length < BATCH) break
      }
    } catch (error) {
      // Ending them now could lose lines: they fail instead, and their clients resume.
      for (const follower of stream.followers) fail(follower, error as Error)
      return
    }
    for (const follower of stream.followers) {
      follower.ended = true
      wakeUp(follower)
    }
  }

  function checkIdle (): void {
    const now = Date.now()
    for (const stream of streams.values()) {
      if (stream.checking || now - stream.lastSeenAt < IDLE_CHECK_MS) continue
      stream.checking = true
      deps.isFinished(stream.buildId).then(
        (finished) => {
          stream.checking = false
          stream.lastSeenAt = Date.now()
          if (finished) void endStream(stream)
        },
        () => (stream.checking = false)
      )
    }
  }

  /** Into the fan-out, unless the hub has read past the follower's cursor: then it reads on by itself first. */
  function join (follower: Follower): void {
    let stream = streams.get(follower.key)
    if (stream && compareIds(stream.cursor, follower.cursor) > 0) return
    if (!stream) {
      stream = { key: follower.key, buildId: follower.buildId, cursor: follower.cursor, followers: new Set(), lastSeenAt: Date.now(), checking: false }
      streams.set(follower.key, stream)
      idleTimer ??= setInterval(checkIdle, IDLE_CHECK_MS / 5).unref()
      if (!reading) void readLoop()
      else if (blocked) void interruptRead()
    }
    stream.followers.add(follower)
    follower.live = true
  }

  function leave (follower: Follower): void {
    follower.live = false
    const stream = streams.get(follower.key)
    if (stream?.followers.delete(follower) && stream.followers.size === 0) streams.delete(follower.key)
  }

  function wakeUp (follower: Follower): void {
    const wake = follower.wake
    follower.wake = null
    wake?.()
  }

  function fail (follower: Follower, error: Error): void {
    follower.failure = error
    wakeUp(follower)
  }

  function stop (follower: Follower): void {
    if (follower.stopped) return
    follower.stopped = true
    following.delete(follower)
    leave(follower)
    wakeUp(follower)
    follower.onEnd()
  }

  async function * eventsOf (follower: Follower): AsyncGenerator<LogEvent[]> {
    const stopped = () => new Error('The log follow was stopped.')
    try {
      // A build that has already ended is read to its end, without waiting on an idle log.
      let finished = await deps.isFinished(follower.buildId)
      for (;;) {
        if (follower.stopped) throw stopped()
        if (follower.failure) throw follower.failure
        if (follower.pending.length > 0) {
          const events = follower.pending
          follower.pending = []
          yield events
          continue
        }
        if (follower.ended) return
        if (follower.live) {
          await new Promise<void>((resolve) => (follower.wake = resolve))
          continue
        }
        const entries = await redis.xrange(follower.key, `(${follower.cursor}`, '+', 'COUNT', BATCH)
        if (entries.length > 0) {
          const events = entries.map(([id, fields]) => decodeLogEntry(id, fields))
          follower.cursor = events[events.length - 1]!.id
          if (events.some(isEnd)) finished = true
          yield events
          continue
        }
        // Caught up with what is stored. Once the build has ended, that is all (an empty read
        // after learning it had ended); otherwise into the fan-out, or, where the hub has read
        // further meanwhile, read again.
        if (finished) return
        join(follower)
      }
    } finally {
      stop(follower)
    }
  }

  return {
    /** Follows a build's log from after the entry `after` until the build ends; `onEnd` is called once when the follow ends. */
    follow (buildId: string, after: string, onEnd: () => void = () => undefined): Follow {
      const follower: Follower = {
        key: keys.log(buildId),
        buildId,
        cursor: canonicalId(after),
        pending: [],
        live: false,
        ended: false,
        stopped: false,
        failure: null,
        wake: null,
        onEnd
      }
      following.add(follower)
      return { events: eventsOf(follower), stop: () => stop(follower) }
    },

    /** Stops every follow and lets the blocking connection go. */
    close (): void {
      closed = true
      if (idleTimer) clearInterval(idleTimer)
      for (const follower of following) stop(follower)
      reader?.disconnect()
    }
  }
}

export type LogHub = ReturnType<typeof createLogHub>
