import type { Redis } from 'ioredis'
import { decodeHash, encodeHash } from './redis-hash.js'
import { withCommands } from './redis-commands.js'
import { BUILD_STATUSES, TERMINAL_STATUSES, type BuildRecord, type BuildStatus } from '../domain/schemas/build.js'
import type { BuildEventType, WebhookFormat } from '../domain/webhooks/event-types.js'
import type { RedisKeys } from './keys.js'
import { repoKey } from '../domain/builds/repo-url.js'
import { dropUpload } from './upload-store.js'
import { idTimePrefix } from '../domain/ids.js'
import { refGroup } from '../domain/retention.js'

// A build is one Redis hash (see redis-hash.ts). Changes go through one compare-and-set script
// (commands/transitionBuild-2.lua), so a late or repeated writer (BullMQ delivers at least once)
// can never move a build out of a terminal state, and which writes each change of status into the
// build's log stream with it (the event followers and the history see); a new one is stored with its index entries, its
// claim and its place among its actor's active builds by another (commands/createBuild.lua).

/**
 * What a new build claims as it is stored, unless another build holds it: being the build that
 * identical requests (those with this fingerprint) join while it is queued or running.
 */
export interface Claim {
  request: string
  /** A build that holds the claim but has ended: the new build takes the claim over from it. */
  replacing?: string
}

// A claim outlives any build that holds it; it only lapses by itself if its build never ends.
// Both are kept no longer than SLIPWAY_RETENTION (keepAtMostSeconds), so that nothing of a build
// outlives its record; with a retention in minutes, a claim may lapse under a long build, and an
// identical request then starts a build of its own rather than joining it.
const CLAIM_TTL_SECONDS = 86_400
// A succeeded build is reused for identical builds for 30 days at most (and only while it is kept).
const DEDUPE_TTL_SECONDS = 30 * 86_400
// The terminal statuses, as the retention scripts take them: only ended builds are removed.
const TERMINAL = TERMINAL_STATUSES.join(',')

/** What the retention sweeper reads of a build to decide whether it goes. */
export interface RetentionCandidate {
  id: string
  /** null: the build is gone. */
  status: BuildStatus | null
  /** When it ended; for an ended build that lacks the time, when it was made. */
  finishedAt: string | null
  logExpiredAt: string | null
  repo: string | null
  ref: string | null
  /** Who made it, whose set of active builds it may still be in. */
  actorId: string | null
}

/** A build's own subscription, kept beside the build with its secret (never in the record). */
export interface StoredBuildWebhook {
  url: string
  events: BuildEventType[]
  format: WebhookFormat
  secret: string
}

/** What a worker running a build watches for: another attempt started, or a cancel asked. */
export interface BuildWatch {
  /** The attempt the build is in; null when the build is gone. */
  attempts: number | null
  cancelRequested: boolean
}

/** At most `max` builds of one actor (a token or trigger rule) queued or running at once. */
export interface ActiveLimit {
  actorId: string
  max: number
}

/** What create() did: stored the build, or not because a claim is held or the actor is at its limit. */
export type Creation = { kind: 'stored' } | { kind: 'held'; holder: string } | { kind: 'full' }

export interface ListQuery {
  status?: BuildStatus
  repo?: string
  cursor?: string
  limit: number
}

export interface Transition {
  /** The statuses the build may be in for the change to apply. */
  from: readonly BuildStatus[]
  to: BuildStatus
  set?: Partial<Omit<BuildRecord, 'id' | 'status'>>
  /**
   * Only while the build is in this attempt: a worker that lost its lock (and whose build another
   * worker started again) can then change nothing.
   */
  attempt?: number
}

// One page looks at no more than this many ids, so a filter that rarely matches answers quickly
// with a cursor rather than walking the whole history.
const MAX_SCANNED_PER_PAGE = 1000

export function createBuildStore (connection: Redis, keys: RedisKeys, keepAtMostSeconds = Infinity) {
  const claimSeconds = Math.min(CLAIM_TTL_SECONDS, keepAtMostSeconds)
  const dedupeSeconds = Math.min(DEDUPE_TTL_SECONDS, keepAtMostSeconds)
  const redis = withCommands(connection)
  /**
   * Stores a new build. With a claim, only if no other build holds the claim's key (else: `held`,
   * naming the build that does). With an active limit, only while its actor has fewer builds
   * queued or running (else: `full`, and nothing is stored).
   */
  async function create (record: BuildRecord, options: { claim?: Claim | undefined; active?: ActiveLimit } = {}): Promise<Creation> {
    const { claim, active } = options
    // An upload has no repository: its build is in the other indexes only.
    const byRepo = record.request.repo === null ? [] : [keys.buildsByRepo(repoKey(record.request.repo)), keys.buildsByRef(refGroup(record.request.ref), repoKey(record.request.repo))]
    const indexes = [keys.allBuilds, keys.buildsByStatus(record.status), ...byRepo]
    const fields = Object.entries(encode(record)).flat()
    const scriptKeys = [keys.build(record.id), ...(claim ? [keys.inflight(claim.request)] : []), ...(active ? [keys.activeBuilds(active.actorId)] : []), ...indexes]
    const args = [record.id, claim ? claimSeconds : 0, claim ? 1 : 0, claim?.replacing ?? '', active?.max ?? '', ...fields]
    for (;;) {
      const refused = await redis.createBuild(scriptKeys.length, ...scriptKeys, ...args)
      if (refused === null) return { kind: 'stored' }
      if (refused[0] === 'held') return { kind: 'held', holder: refused[1] }
      // Builds that ended since they were counted still are: no ending path has to remember to
      // take them out. Take them out now and try again, unless none had ended.
      if (!(await forgetEnded(active!.actorId))) return { kind: 'full' }
    }
  }

  /** Removes the builds that have ended, or are gone, from an actor's active set; whether there were any. */
  async function forgetEnded (actorId: string): Promise<boolean> {
    const key = keys.activeBuilds(actorId)
    const ids = await redis.smembers(key)
    const pipeline = redis.pipeline()
    for (const id of ids) pipeline.hget(keys.build(id), 'status')
    const statuses = ((await pipeline.exec()) ?? []).map(([error, status]) => (error ? undefined : (status as string | null)))
    // An id joins the set in the script that stores its build, so one without a build was removed.
    const ended = ids.filter((_id, i) => statuses[i] === null || TERMINAL_STATUSES.includes(statuses[i] as BuildStatus))
    if (ended.length > 0) await redis.srem(key, ...ended)
    return ended.length > 0
  }

  async function get (id: string): Promise<BuildRecord | null> {
    return decode(await redis.hgetall(keys.build(id)))
  }

  /** Applies a status change if the build is in one of `from`; returns whether it did. */
  async function transition (id: string, change: Transition): Promise<boolean> {
    const fields = Object.entries(encode(change.set ?? {})).flat()
    const attempt = change.attempt === undefined ? '' : JSON.stringify(change.attempt)
    const [applied, previous] = await redis.transitionBuild(keys.build(id), keys.log(id), change.from.join(','), change.to, attempt, Date.now(), keys.buildChanges, id, ...fields)
    if (applied === 1 && previous !== change.to) {
      // The status index trails the hash by one round trip; list() re-checks each status it returns.
      const changes = redis.multi().zrem(keys.buildsByStatus(previous as BuildStatus), id).zadd(keys.buildsByStatus(change.to), 0, id)
      // An ended build's uploaded source is needed no more (its time to live clears it otherwise).
      if (TERMINAL_STATUSES.includes(change.to)) dropUpload(changes, keys, id)
      await changes.exec()
    }
    return applied === 1
  }

  /** Newest first. The cursor is the last id of the previous page. */
  async function list (query: ListQuery): Promise<{ items: BuildRecord[]; nextCursor: string | null }> {
    const wantedRepo = query.repo === undefined ? undefined : repoKey(query.repo)
    // A repository's index is the narrower one: size history and the previous build ask for one
    // repository's succeeded builds, which the status index would hold among every repository's.
    const index = wantedRepo !== undefined ? keys.buildsByRepo(wantedRepo) : query.status ? keys.buildsByStatus(query.status) : keys.allBuilds
    const items: BuildRecord[] = []
    let cursor = query.cursor
    let scanned = 0
    while (scanned < MAX_SCANNED_PER_PAGE) {
      const batchSize = Math.min(Math.max(query.limit * 2, 20), MAX_SCANNED_PER_PAGE - scanned)
      const ids = await redis.zrevrangebylex(index, cursor ? `(${cursor}` : '+', '-', 'LIMIT', 0, batchSize)
      const records = await getMany(ids)
      for (const [i, record] of records.entries()) {
        cursor = ids[i]
        if (!record) continue
        if (query.status && record.status !== query.status) continue
        if (wantedRepo !== undefined && (record.request.repo === null || repoKey(record.request.repo) !== wantedRepo)) continue
        items.push(record)
        if (items.length === query.limit) {
          const more = i < ids.length - 1 || ids.length === batchSize
          return { items, nextCursor: more ? record.id : null }
        }
      }
      scanned += ids.length
      if (ids.length < batchSize) return { items, nextCursor: null }
    }
    return { items, nextCursor: cursor ?? null }
  }

  async function getMany (ids: string[]): Promise<(BuildRecord | null)[]> {
    if (ids.length === 0) return []
    const pipeline = redis.pipeline()
    for (const id of ids) pipeline.hgetall(keys.build(id))
    const results = (await pipeline.exec()) ?? []
    return results.map(([error, hash]) => (error ? null : decode(hash as Record<string, string>)))
  }

  /** How many builds are in each status, from the status indexes. */
  async function countByStatus (): Promise<Record<BuildStatus, number>> {
    const counts = await Promise.all(BUILD_STATUSES.map((status) => redis.zcard(keys.buildsByStatus(status))))
    return Object.fromEntries(BUILD_STATUSES.map((status, i) => [status, counts[i]])) as Record<BuildStatus, number>
  }

  /** How many builds are kept that were made in [from, before) (ms since the epoch). */
  function countMade (from: number, before: number): Promise<number> {
    return redis.zlexcount(keys.allBuilds, `[${idTimePrefix(from)}`, `(${idTimePrefix(before)}`)
  }

  /** Every id in a status index, oldest first; the index may trail a build's status by a moment. */
  function idsByStatus (status: BuildStatus): Promise<string[]> {
    return redis.zrangebylex(keys.buildsByStatus(status), '-', '+')
  }

  /** For each build, in one round trip, what its worker watches for (see BuildWatch); null where the answer failed. */
  async function watch (ids: string[]): Promise<(BuildWatch | null)[]> {
    const pipeline = redis.pipeline()
    for (const id of ids) pipeline.hmget(keys.build(id), 'cancelRequested', 'attempts')
    const answers = (await pipeline.exec()) ?? []
    return answers.map(([error, fields]) => {
      if (error) return null
      const [cancelRequested, attempts] = fields as [string | null, string | null]
      return { attempts: attempts === null ? null : Number(attempts), cancelRequested: cancelRequested === 'true' }
    })
  }

  /**
   * The builds made before `createdBefore` (ms), oldest first, after the id `after` (or made
   * from `createdFrom`): at most `limit` of them, with what the retention sweeper decides on.
   */
  async function oldest (createdBefore: number, after: string | undefined, limit: number, createdFrom?: number): Promise<RetentionCandidate[]> {
    const from = after ? `(${after}` : createdFrom !== undefined ? `[${idTimePrefix(createdFrom)}` : '-'
    const ids = await redis.zrangebylex(keys.allBuilds, from, `(${idTimePrefix(createdBefore)}`, 'LIMIT', 0, limit)
    if (ids.length === 0) return []
    const pipeline = redis.pipeline()
    for (const id of ids) pipeline.hmget(keys.build(id), 'status', 'finishedAt', 'logExpiredAt', 'request', 'createdBy', 'createdAt')
    const answers = (await pipeline.exec()) ?? []
    return ids.map((id, i) => {
      const [error, fields] = answers[i] ?? [null, null]
      const [status, finishedAt, logExpiredAt, request, createdBy, createdAt] = (error ? [] : (fields as (string | null)[])) as (string | null | undefined)[]
      const parsed = request ? (JSON.parse(request) as { repo: string | null; ref: string | null }) : null
      const actor = createdBy ? (JSON.parse(createdBy) as { id: string } | null) : null
      return {
        id,
        status: (status ?? null) as BuildStatus | null,
        finishedAt: (finishedAt ? (JSON.parse(finishedAt) as string | null) : null) ?? (createdAt ? (JSON.parse(createdAt) as string) : null),
        logExpiredAt: logExpiredAt ? (JSON.parse(logExpiredAt) as string | null) : null,
        repo: parsed?.repo ?? null,
        ref: parsed?.ref ?? null,
        actorId: actor?.id ?? null
      }
    })
  }

  /**
   * For each build (of a repository), whether it is among the newest `keep` builds of its
   * repository and ref. A build stored before Slipway kept that index joins it here first (with
   * the rest of its batch), so while newer such builds have not been looked at yet a ref keeps
   * more than `keep`, never fewer; the next sweeps, which find them all indexed, remove the rest.
   */
  async function amongNewest (builds: RetentionCandidate[], keep: number): Promise<boolean[]> {
    if (builds.length === 0) return []
    if (keep === 0) return builds.map(() => false)
    const pipeline = redis.pipeline()
    const indexes = builds.map((build) => keys.buildsByRef(refGroup(build.ref), repoKey(build.repo ?? '')))
    // All of them join first, so builds of one batch count one another.
    for (const [i, build] of builds.entries()) pipeline.zadd(indexes[i]!, 'NX', 0, build.id)
    for (const [i, build] of builds.entries()) pipeline.zrevrank(indexes[i]!, build.id)
    const answers = (await pipeline.exec()) ?? []
    return builds.map((_build, i) => {
      const [error, rank] = answers[builds.length + i] ?? [null, null]
      // When in doubt, keep it.
      return error !== null || rank === null || (rank as number) < keep
    })
  }

  /**
   * Removes an ended build (the retention sweeper's): its record, log, own webhooks, list of
   * deliveries and packages, and its id from every index, in one script; a tombstone says when. False when it
   * was gone already or has not ended.
   */
  async function expire (build: RetentionCandidate, now: number): Promise<boolean> {
    const repo = build.repo === null ? [] : [keys.buildsByRepo(repoKey(build.repo)), keys.buildsByRef(refGroup(build.ref), repoKey(build.repo))]
    const active = build.actorId === null ? [] : [keys.activeBuilds(build.actorId)]
    const deleted = [keys.log(build.id), keys.buildWebhooks(build.id), keys.buildDeliveries(build.id), keys.buildPackages(build.id)]
    const indexes = [keys.allBuilds, ...TERMINAL_STATUSES.map((status) => keys.buildsByStatus(status)), ...repo, ...active]
    const scriptKeys = [keys.build(build.id), keys.expiredBuilds, ...deleted, ...indexes]
    return (await redis.expireBuild(scriptKeys.length, ...scriptKeys, build.id, now, deleted.length, TERMINAL, keys.buildChanges)) === 1
  }

  return {
    create,
    get,
    transition,
    list,
    countByStatus,
    countMade,
    idsByStatus,
    watch,
    oldest,
    amongNewest,
    expire,

    /** When the retention sweeper removed a build (ms since the epoch), while its tombstone is kept; null otherwise. */
    async expiredAt (id: string): Promise<number | null> {
      const score = await redis.zscore(keys.expiredBuilds, id)
      return score === null ? null : Number(score)
    },

    /** Forgets the tombstones of builds removed before `before` (ms); how many. */
    async trimTombstones (before: number): Promise<number> {
      return redis.zremrangebyscore(keys.expiredBuilds, '-inf', `(${before}`)
    },

    /** When the build's log was removed (SLIPWAY_LOG_RETENTION); null while it is kept, undefined when there is no such build. */
    async logExpiredAt (id: string): Promise<string | null | undefined> {
      const [status, at] = await redis.hmget(keys.build(id), 'status', 'logExpiredAt')
      if (!status) return undefined
      return at ? (JSON.parse(at) as string | null) : null
    },

    async has (id: string): Promise<boolean> {
      return (await redis.exists(keys.build(id))) === 1
    },

    /** Keeps a new build's own subscriptions beside it. */
    async saveWebhooks (id: string, webhooks: StoredBuildWebhook[]): Promise<void> {
      if (webhooks.length > 0) await redis.set(keys.buildWebhooks(id), JSON.stringify(webhooks))
    },

    /** A build's own subscriptions, secrets included, by position. */
    async webhooksOf (id: string): Promise<StoredBuildWebhook[]> {
      return JSON.parse((await redis.get(keys.buildWebhooks(id))) ?? '[]') as StoredBuildWebhook[]
    },

    /** The succeeded build remembered for a build fingerprint, if it is still stored. */
    async reusable (fingerprint: string): Promise<BuildRecord | null> {
      const id = await redis.get(keys.dedupe(fingerprint))
      return id ? get(id) : null
    },

    /** Remembers a succeeded build as the one identical builds (by build fingerprint) reuse. */
    async rememberReusable (fingerprint: string, id: string): Promise<void> {
      await redis.set(keys.dedupe(fingerprint), id, 'EX', dedupeSeconds)
    }
  }
}

export type BuildStore = ReturnType<typeof createBuildStore>

// `status` stays a plain string: the transition script compares it.
const RAW = ['status'] as const
const encode = (record: Partial<BuildRecord>) => encodeHash(record, RAW)

function decode (hash: Record<string, string>): BuildRecord | null {
  return hash.status ? decodeHash<BuildRecord>(hash, RAW) : null
}

// A build's log counts the bytes it keeps in the build's hash, so its cap holds across worker
// restarts; build-log.ts reads the count through keptLogBytes and adds to it in the script that
// appends each batch of lines.

/** The record's field that counts the bytes of log kept. */
export const LOG_BYTES_FIELD = 'logBytes'

/** The bytes of log kept for a build so far. */
export async function keptLogBytes (redis: Redis, keys: RedisKeys, id: string): Promise<number> {
  return Number(await redis.hget(keys.build(id), LOG_BYTES_FIELD)) || 0
}

/** The record's field (and encoded value) that says when its log was removed: build-log.ts writes it as it removes the log. */
export function logExpiryField (at: Date): [string, string] {
  return ['logExpiredAt', JSON.stringify(at.toISOString())]
}
