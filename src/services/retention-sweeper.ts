import { randomUUID } from 'node:crypto'
import { setImmediate as yieldToOthers } from 'node:timers/promises'
import { idTimePrefix } from '../domain/ids.js'
import type { RetentionPolicy } from '../domain/retention.js'
import { TERMINAL_STATUSES } from '../domain/schemas/build.js'
import type { RetentionCandidate } from '../storage/build-store.js'
import type { SweepReport } from '../domain/schemas/storage.js'
import type { Storage } from '../storage/storage.js'

// The retention sweeper (docs/operations/retention.md). Every API and worker process runs one; a
// lock in Redis lets one sweep at a time, and the others find it held and wait for their next
// turn. A sweep walks the builds oldest first, in batches, and removes each build in a script of
// its own, so Redis serves every other client between them and the API is never held up.

/** How often each process tries to sweep, at most (see sweepInterval). */
export const SWEEP_INTERVAL_MS = 60_000
const MIN_SWEEP_INTERVAL_MS = 5_000

/**
 * How often to sweep under a policy: once a minute, or a tenth of SLIPWAY_RETENTION when that is
 * shorter (5 s at least). With records kept minutes, a sweep a minute would let a minute's builds
 * pile up beyond the retention each time: a build removed up to a third late under `3m`, and
 * Redis's memory swinging by as much between sweeps.
 */
export function sweepInterval (policy: Pick<RetentionPolicy, 'recordsMs'>): number {
  return Math.max(MIN_SWEEP_INTERVAL_MS, Math.min(SWEEP_INTERVAL_MS, Math.floor(policy.recordsMs / 10)))
}
// The lock lapses this long after its holder last renewed it (each batch renews it), so a
// sweeper that died leaves it to another within a minute.
const LOCK_TTL_MS = 60_000
// The sweeper that holds the lock also counts the keys by kind (a SCAN of them all), this often.
const CENSUS_INTERVAL_MS = 5 * 60_000

export interface SweeperOptions {
  /** Builds looked at per batch. */
  batchSize?: number
  /** Batches per sweep at most; the next sweep carries on. */
  maxBatches?: number
  /** Now, in ms since the epoch (tests move it). */
  clock?: () => number
  /** How often a sweep also counts the keys by kind (the storage report, slipway_redis_keys). */
  censusIntervalMs?: number
}

export function createRetentionSweeper (deps: {
  storage: Pick<Storage, 'builds' | 'buildLogs' | 'deliveries' | 'audit' | 'retention' | 'keyCensus'>
  policy: RetentionPolicy
  logger: { info(details: object, message: string): void; warn(details: object, message: string): void }
  /** Counts what each sweep removed, by kind (slipway_retention_removed_total). */
  onRemoved?: (kind: keyof SweepReport['removed'], count: number) => void
} & SweeperOptions) {
  const { builds, buildLogs, deliveries, audit, retention, keyCensus } = deps.storage
  const { policy } = deps
  const batchSize = deps.batchSize ?? 100
  const maxBatches = deps.maxBatches ?? 1000
  const clock = deps.clock ?? Date.now
  const censusIntervalMs = deps.censusIntervalMs ?? CENSUS_INTERVAL_MS

  /**
   * One sweep, if no other process is sweeping: its report, or null when another held the lock.
   * Safe to run from any number of processes at once.
   */
  async function sweepOnce (): Promise<SweepReport | null> {
    const token = randomUUID()
    if (!(await retention.hold(token, LOCK_TTL_MS))) return null
    const startedAt = new Date(clock())
    const removed = { builds: 0, logs: 0, deliveries: 0, tombstones: 0, auditEntries: 0 }
    let scanned = 0
    let batches = 0
    let incomplete = false
    try {
      const now = clock()
      const recordsBefore = now - policy.recordsMs
      const logsBefore = now - policy.logsMs

      /**
       * Walks the builds made in [from, before), oldest first, a batch at a time, handing each
       * batch to `handle`; false when it stopped early (out of batches, or the lock lost).
       */
      const walk = async (range: { after?: string | undefined; createdFrom?: number; createdBefore: number }, handle: (batch: RetentionCandidate[]) => Promise<void>) => {
        let after = range.after
        for (;;) {
          if (batches === maxBatches) return false
          const batch = await builds.oldest(range.createdBefore, after, batchSize, after === undefined ? range.createdFrom : undefined)
          batches++
          scanned += batch.length
          if (batch.length > 0) after = batch.at(-1)!.id
          await handle(batch)
          if (batch.length < batchSize) return true
          // Another process may have taken over a lapsed lock: then it sweeps, and this one stops.
          if (!(await retention.hold(token, LOCK_TTL_MS))) return false
          await yieldToOthers()
        }
      }
      const expireLog = async (build: RetentionCandidate): Promise<boolean> => {
        if (build.logExpiredAt !== null) return true
        if (!(await buildLogs.expire(build.id, new Date(now)))) return false
        removed.logs++
        return true
      }

      // First the builds made before the records' cutoff: the only ones whose records may go (a
      // build ends after it was made). Those kept (the newest of their ref, or not ended long
      // enough) lose their logs by age.
      let complete = await walk({ createdBefore: recordsBefore }, async (batch) => {
        const ended = batch.filter((build) => isDue(build, logsBefore))
        const ofRepos = ended.filter((build) => build.repo !== null)
        const kept = new Set((await builds.amongNewest(ofRepos, policy.keepLast)).flatMap((keep, i) => (keep ? [ofRepos[i]!.id] : [])))
        for (const build of ended) {
          // The newest builds of a ref keep their records, not their logs: logs go by age alone.
          if (Date.parse(build.finishedAt!) < recordsBefore && !kept.has(build.id)) {
            // Deliveries first: a removed build leaves no delivery behind in a subscription's list.
            removed.deliveries += await deliveries.forgetBuild(build.id)
            if (await builds.expire(build, now)) removed.builds++
          } else {
            await expireLog(build)
          }
        }
      })

      // Then, with SLIPWAY_LOG_RETENTION shorter, the logs of builds made since, up to the logs'
      // cutoff. These builds stay, so the walk starts where the last one found every build before
      // settled (its log gone, or the build gone): each build is looked at until its log goes,
      // not every sweep until its record does.
      if (complete && logsBefore > recordsBefore) {
        const recordsStart = idTimePrefix(recordsBefore)
        const cursor = await retention.logCursor()
        let settled = cursor !== null && cursor > recordsStart ? cursor : undefined
        let contiguous = true
        complete = await walk({ after: settled, createdFrom: recordsBefore, createdBefore: logsBefore }, async (batch) => {
          for (const build of batch) {
            const done = build.status === null || build.logExpiredAt !== null || (isDue(build, logsBefore) && (await expireLog(build)))
            if (done && contiguous) settled = build.id
            else contiguous = false
          }
        })
        if (settled !== undefined && settled !== cursor) await retention.saveLogCursor(settled)
      }
      incomplete = !complete
      // A tombstone says "expired" for as long again as the build was kept, then GET says 404.
      removed.tombstones = await builds.trimTombstones(now - policy.recordsMs)
      removed.auditEntries = await audit.trimBefore(now - policy.auditMs)
      const report: SweepReport = { startedAt: startedAt.toISOString(), finishedAt: new Date(clock()).toISOString(), removed, scanned, batches, incomplete }
      await retention.saveReport(report)
      for (const [kind, count] of Object.entries(removed)) if (count > 0) deps.onRemoved?.(kind as keyof SweepReport['removed'], count)
      deps.logger.info({ retention: report }, 'retention sweep')
      await countKeys(clock())
      return report
    } finally {
      await retention.release(token)
    }
  }

  /** Counts the keys by kind, unless counted lately; a count that fails is logged and made again next time. */
  async function countKeys (now: number): Promise<void> {
    try {
      const last = await keyCensus.last()
      if (last === null || now - Date.parse(last.countedAt) >= censusIntervalMs) await keyCensus.count(now)
    } catch (error) {
      deps.logger.warn({ err: error }, 'could not count the keys in Redis')
    }
  }

  /** Sweeps every SWEEP_INTERVAL_MS (the first soon after start) until closed; a failed sweep is logged and tried again next time. */
  function start (intervalMs = SWEEP_INTERVAL_MS): { close(): Promise<void> } {
    let running: Promise<unknown> = Promise.resolve()
    const tick = () => {
      running = sweepOnce().catch((error: unknown) => { deps.logger.warn({ err: error }, 'retention sweep failed; trying again at the next') })
    }
    // Processes started together spread their first tries over a few seconds.
    const first = setTimeout(tick, 1000 + Math.floor(Math.random() * 5000))
    const timer = setInterval(tick, intervalMs)
    first.unref()
    timer.unref()
    return {
      async close () {
        clearTimeout(first)
        clearInterval(timer)
        await running
      }
    }
  }

  return { sweepOnce, start }
}

/** An ended build whose log, at least, is due (by when it ended); queued and running builds never are. */
function isDue (build: RetentionCandidate, logsBefore: number): boolean {
  if (build.status === null || !TERMINAL_STATUSES.includes(build.status) || build.finishedAt === null) return false
  const finished = Date.parse(build.finishedAt)
  return Number.isFinite(finished) && finished < logsBefore
}

export type RetentionSweeper = ReturnType<typeof createRetentionSweeper>
