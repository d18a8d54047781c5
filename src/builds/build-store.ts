import type { Redis } from 'ioredis'
import { decodeHash, encodeHash } from '../redis-hash.js'
import { luaScript } from '../redis.js'
import { BUILD_STATUSES, TERMINAL_STATUSES, type BuildRecord, type BuildStatus } from '../schemas/build.js'
import type { RedisKeys } from './keys.js'
import { repoKey } from './repo-url.js'

// A build is one Redis hash (see redis-hash.ts). Changes go through one compare-and-set script, so
// a late or repeated writer (BullMQ delivers at least once) can never move a build out of a
// terminal state.
const transitionScript = luaScript(`
local current = redis.call('HGET', KEYS[1], 'status')
if not current then return {0, ''} end
if ARGV[1] ~= '' and not string.find(',' .. ARGV[1] .. ',', ',' .. current .. ',', 1, true) then
  return {0, current}
end
if ARGV[3] ~= '' and redis.call('HGET', KEYS[1], 'attempts') ~= ARGV[3] then return {0, current} end
redis.call('HSET', KEYS[1], 'status', ARGV[2], unpack(ARGV, 4))
return {1, current}
`)

// A new build: its hash and its index entries, in one script. With a claim key (ARGV[3] = 1), only
// if no other build holds that key, or only the build ARGV[4] names (one that has ended); the key
// then names this build, and the holder's id is returned otherwise. One round trip, and the key
// never names a build that is not stored. KEYS: the hash, the claim key when there is one, then
// the indexes.
const createScript = luaScript(`
local first = 2
if ARGV[3] == '1' then
  local holder = redis.call('GET', KEYS[2])
  if holder and holder ~= ARGV[4] then return holder end
  redis.call('SET', KEYS[2], ARGV[1], 'EX', ARGV[2])
  first = 3
end
redis.call('HSET', KEYS[1], unpack(ARGV, 5))
for i = first, #KEYS do redis.call('ZADD', KEYS[i], 0, ARGV[1]) end
return false
`)

/** A key a new build claims for itself as it is stored, unless another build holds it. */
export interface Claim {
  key: string
  ttlSeconds: number
  /** A build that holds the key but has ended: the new build takes the key over from it. */
  replacing?: string
}

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
  /**
   * Stores a new build. With a claim, only if no other build holds the claim's key: then it
   * returns the id of the build that does, and stores nothing.
   */
  async function create(record: BuildRecord, claim?: Claim): Promise<string | null> {
    // An upload has no repository: its build is in the other indexes only.
    const byRepo = record.request.repo === null ? [] : [keys.buildsByRepo(repoKey(record.request.repo))]
    const indexes = [keys.allBuilds, keys.buildsByStatus(record.status), ...byRepo]
    const fields = Object.entries(encode(record)).flat()
    const scriptKeys = [keys.build(record.id), ...(claim ? [claim.key] : []), ...indexes]
    return (await createScript(redis, scriptKeys, [record.id, claim?.ttlSeconds ?? 0, claim ? 1 : 0, claim?.replacing ?? '', ...fields])) as string | null
  }

  async function get(id: string): Promise<BuildRecord | null> {
    return decode(await redis.hgetall(keys.build(id)))
  }

  /** Applies a status change if the build is in one of `from`; returns whether it did. */
  async function transition(id: string, change: Transition): Promise<boolean> {
    const fields = Object.entries(encode(change.set ?? {})).flat()
    const attempt = change.attempt === undefined ? '' : JSON.stringify(change.attempt)
    const [applied, previous] = (await transitionScript(redis, [keys.build(id)], [change.from.join(','), change.to, attempt, ...fields])) as [number, string]
    if (applied === 1 && previous !== change.to) {
      // The status index trails the hash by one round trip; list() re-checks each status it returns.
      const changes = redis.multi().zrem(keys.buildsByStatus(previous as BuildStatus), id).zadd(keys.buildsByStatus(change.to), 0, id)
      // An ended build's uploaded source is needed no more (its time to live clears it otherwise).
      if (TERMINAL_STATUSES.includes(change.to)) changes.unlink(keys.upload(id))
      await changes.exec()
    }
    return applied === 1
  }

  /** Newest first. The cursor is the last id of the previous page. */
  async function list(query: ListQuery): Promise<{ items: BuildRecord[]; nextCursor: string | null }> {
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

  async function getMany(ids: string[]): Promise<(BuildRecord | null)[]> {
    if (ids.length === 0) return []
    const pipeline = redis.pipeline()
    for (const id of ids) pipeline.hgetall(keys.build(id))
    const results = (await pipeline.exec()) ?? []
    return results.map(([error, hash]) => (error ? null : decode(hash as Record<string, string>)))
  }

  /** How many builds are in each status, from the status indexes. */
  async function countByStatus(): Promise<Record<BuildStatus, number>> {
    const counts = await Promise.all(BUILD_STATUSES.map((status) => redis.zcard(keys.buildsByStatus(status))))
    return Object.fromEntries(BUILD_STATUSES.map((status, i) => [status, counts[i]])) as Record<BuildStatus, number>
  }

  return { create, get, transition, list, countByStatus }
}

export type BuildStore = ReturnType<typeof createBuildStore>

// `status` stays a plain string: the transition script compares it.
const RAW = ['status'] as const
const encode = (record: Partial<BuildRecord>) => encodeHash(record, RAW)

function decode(hash: Record<string, string>): BuildRecord | null {
  return hash.status ? decodeHash<BuildRecord>(hash, RAW) : null
}
