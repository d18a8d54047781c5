import { createHash } from 'node:crypto'
import { toResource } from '../domain/builds/build-resource.js'
import { TERMINAL_STATUSES, type Build, type BuildRecord, type BuildStatus } from '../domain/schemas/build.js'
import type { BuildChanges } from '../storage/build-changes.js'
import type { BuildStore } from '../storage/build-store.js'
import { createByteLru } from './byte-lru.js'

/** GET /v1/builds/{id}'s answer, written once per record read. */
export interface BuildAnswer {
  status: BuildStatus
  /**
   * The build as JSON, as the route's response schema writes it, in UTF-8: bytes, so that no
   * answer measures or encodes the text again (a finished build's is sent many times).
   */
  body: Buffer
  /** A strong entity tag: it changes whenever anything in the body does. */
  etag: string
}

/** How the route writes a build: its response schema's serializer. */
export type RenderBuild = (build: Build) => string

// What a kept answer costs beyond its body (its tag, the map's entry), roughly.
const ENTRY_OVERHEAD_BYTES = 200

const etagOf = (body: Buffer) => `"${createHash('sha256').update(body).digest('base64url').slice(0, 32)}"`

interface Read {
  record: Promise<BuildRecord | null>
  /** A change of the build was heard while it was out: what it read may be older than that change. */
  tainted: boolean
}

interface Waiter {
  /** The status being waited out; undefined until the first read (any change wakes it then). */
  status: BuildStatus | undefined
  wake: () => void
}

/**
 * The answers of GET /v1/builds/{id}: read, written and tagged once for every request asking at
 * the same time, and for an ended build once until it changes. An ended build's answer is kept in
 * memory (at most `maxBytes` of them, least recently used out first) until a change of its record
 * is heard (its log removed, the record itself removed by the retention sweeper, on any process:
 * see build-changes.ts), until the time the sweeper may remove it, and never while changes are not
 * being heard. A wait is woken by the change it waits for, heard over this process's one
 * subscription however many wait.
 */
export function createBuildAnswers (deps: {
  store: Pick<BuildStore, 'get'>
  changes: Pick<BuildChanges, 'live' | 'listen' | 'onChange' | 'onResume'>
  /** The error for a build that is not there (404 or 410, as GET answers it). */
  missing: (id: string) => Promise<Error>
  maxBytes: number
  /** How long an ended build is kept at least (SLIPWAY_RETENTION), in ms: its answer is kept no longer. */
  recordsLifetimeMs: number
}) {
  const { changes } = deps
  const kept = createByteLru<{ answer: BuildAnswer; until: number }>(deps.maxBytes)
  const reads = new Map<string, Read>()
  const waiters = new Map<string, Set<Waiter>>()
  const written = new WeakMap<BuildRecord, BuildAnswer>()

  changes.onChange(({ id, status }) => {
    kept.delete(id)
    forgetRead(id)
    for (const waiter of waiters.get(id) ?? []) if (status !== waiter.status) waiter.wake()
  })
  // Changes may have been missed while the subscription was away: nothing kept can be trusted.
  changes.onResume(() => {
    kept.clear()
    for (const id of [...reads.keys()]) forgetRead(id)
    for (const waiting of waiters.values()) for (const waiter of waiting) waiter.wake()
  })

  /** A read out now is not joined any more, nor kept when it returns. */
  function forgetRead (id: string): void {
    const read = reads.get(id)
    if (!read) return
    read.tainted = true
    reads.delete(id)
  }

  /** The record, read once for every caller asking at the same time. */
  function read (id: string): Read {
    const out = reads.get(id)
    if (out) return out
    const started: Read = { record: deps.store.get(id), tainted: !changes.live }
    reads.set(id, started)
    const done = () => {
      if (reads.get(id) === started) reads.delete(id)
    }
    started.record.then(done, done)
    return started
  }

  function write (record: BuildRecord, render: RenderBuild): BuildAnswer {
    let answer = written.get(record)
    if (!answer) {
      const body = Buffer.from(render(toResource(record)))
      answer = { status: record.status, body, etag: etagOf(body) }
      written.set(record, answer)
    }
    return answer
  }

  async function current (id: string, render: RenderBuild): Promise<BuildAnswer> {
    // The first GET starts the subscription; answers are kept only once it is in place.
    if (!changes.live) changes.listen().catch(() => undefined)
    const entry = changes.live ? kept.get(id) : undefined
    if (entry && Date.now() < entry.until) return entry.answer
    const out = read(id)
    const record = await out.record
    if (!record) throw await deps.missing(id)
    const answer = write(record, render)
    if (TERMINAL_STATUSES.includes(record.status) && !out.tainted && changes.live) {
      const until = Date.parse(record.finishedAt ?? record.createdAt) + deps.recordsLifetimeMs
      if (Date.now() < until) kept.set(id, { answer, until }, answer.body.length + ENTRY_OVERHEAD_BYTES)
    }
    return answer
  }

  return {
    /** The build's answer now: 404 or 410 when it is not there. */
    get: current,

    /**
     * The build's answer once its status is not `status` (by default, the one it has now), or
     * after `ms` as it is then, whichever comes first. An ended build answers at once: its status
     * never changes again.
     */
    async wait (id: string, status: BuildStatus | undefined, ms: number, render: RenderBuild): Promise<BuildAnswer> {
      // Subscribed before the first read: a change after that read is heard.
      await changes.listen()
      let signal!: Promise<void>
      const waiter: Waiter = { status, wake: () => undefined }
      const arm = () => {
        signal = new Promise<void>((resolve) => (waiter.wake = resolve))
      }
      arm()
      const waiting = waiters.get(id) ?? new Set<Waiter>()
      waiters.set(id, waiting.add(waiter))
      let timer: NodeJS.Timeout | undefined
      const timedOut = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), ms)))
      try {
        let answer = await current(id, render)
        waiter.status ??= answer.status
        for (;;) {
          if (answer.status !== waiter.status || TERMINAL_STATUSES.includes(answer.status)) return answer
          const woken = await Promise.race([signal, timedOut])
          arm()
          answer = await current(id, render)
          if (woken === 'timeout') return answer
        }
      } finally {
        clearTimeout(timer)
        waiting.delete(waiter)
        if (waiting.size === 0 && waiters.get(id) === waiting) waiters.delete(id)
      }
    },

    /** The bytes of answers kept now. */
    get keptBytes (): number {
      return kept.bytes
    }
  }
}

export type BuildAnswers = ReturnType<typeof createBuildAnswers>
