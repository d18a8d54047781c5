import type { Redis } from 'ioredis'
import { decodeHash, encodeHash } from '../redis-hash.js'
import type { BuildRecord, BuildStatus } from '../schemas/build.js'
import type { RedisKeys } from './keys.js'
import { repoKey } from './repo-url.js'

// A build is one Redis hash (see redis-hash.ts). Changes go through one compare-and-set script, so
// a late or repeated writer (BullMQ delivers at least once) can never move a build out of a
// terminal state.
const TRANSITION_SCRIPT = `
local current = redis.call('HGET', KEYS[1], 'status')
if not current then return {0, ''} end
if ARGV[1] ~= '' and not string.find(',' .. ARGV[1] .. ',', ',' .. current .. ',', 1, true) then
  return {0, current}
end
if ARGV[3] ~= '' and redis.call('HGET', KEYS[1], 'attempts') ~= ARGV[3] then return {0, current} end
redis.call('HSET', KEYS[1], 'status', ARGV[2], unpack(ARGV, 4))
return {1, current}
`

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

export function createBuildStore(redis: Redis, keys: RedisKeys) {
  async function create(record: BuildRecord): Promise<void> {
    await redis
      .multi()
      .hset(keys.build(record.id), encode(record))
      .zadd(keys.allBuilds, 0, record.id)
      .zadd(keys.buildsByRepo(repoKey(record.request.repo)), 0, record.id)
      .zadd(keys.buildsByStatus(record.status), 0, record.id)
      .exec()
  }

  async function get(id: string): Promise<BuildRecord | null> {
    return decode(await redis.hgetall(keys.build(id)))
  }

  /** Applies a status change if the build is in one of `from`; returns whether it did. */
  async function transition(id: string, change: Transition): Promise<boolean> {
    const fields = Object.entries(encode(change.set ?? {})).flat()
    const [applied, previous] = (await redis.eval(
      TRANSITION_SCRIPT,
      1,
      keys.build(id),
      change.from.join(','),
      change.to,
      change.attempt === undefined ? '' : JSON.stringify(change.attempt),
      ...fields
    )) as [number, string]
    if (applied === 1 && previous !== change.to) {
      // The status index trails the hash by one round trip; list() re-checks each status it returns.
      await redis
        .multi()
        .zrem(keys.buildsByStatus(previous as BuildStatus), id)
        .zadd(keys.buildsByStatus(change.to), 0, id)
        .exec()
    }
    return applied === 1
  }

  /** Newest first. The cursor is the last id of the previous page. */
  async function list(query: ListQuery): Promise<{ items: BuildRecord[]; nextCursor: string | null }> {
    const wantedRepo = query.repo === undefined ? undefined : repoKey(query.repo)
    const index = query.status
      ? keys.buildsByStatus(query.status)
      : wantedRepo !== undefined
        ? keys.buildsByRepo(wantedRepo)
        : keys.allBuilds
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
        if (wantedRepo !== undefined && repoKey(record.request.repo) !== wantedRepo) continue
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

  async function getMany(ids: string[]): Promise<(BuildRecord | null)[]> {
    if (ids.length === 0) return []
    const pipeline = redis.pipeline()
    for (const id of ids) pipeline.hgetall(keys.build(id))
    const results = (await pipeline.exec()) ?? []
    return results.map(([error, hash]) => (error ? null : decode(hash as Record<string, string>)))
  }

  return { create, get, transition, list }
}

export type BuildStore = ReturnType<typeof createBuildStore>

// `status` stays a plain string: the transition script compares it.
const RAW = ['status'] as const
const encode = (record: Partial<BuildRecord>) => encodeHash(record, RAW)

function decode(hash: Record<string, string>): BuildRecord | null {
  return hash.status ? decodeHash<BuildRecord>(hash, RAW) : null
}
