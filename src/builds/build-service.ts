import type { Redis } from 'ioredis'
import { monotonicFactory } from 'ulid'
import { BuildNotFound, RedisUnavailable } from '../errors.js'
import type { BuildRecord, BuildRequest, Build } from '../schemas/build.js'
import { readLogEntries, type LogEntry } from './build-log.js'
import type { BuildQueue } from './build-queue.js'
import { newBuildRecord, normalizeBuildRequest, type RequestPolicy } from './build-request.js'
import type { BuildStore, ListQuery } from './build-store.js'
import type { RedisKeys } from './keys.js'

const newId = monotonicFactory()

/** What the API does with builds; it never runs git or docker itself. */
export function createBuildService(deps: { redis: Redis; keys: RedisKeys; store: BuildStore; queue: BuildQueue; policy: RequestPolicy }) {
  const { store, queue } = deps

  async function submit(request: BuildRequest): Promise<Build> {
    const record = newBuildRecord(newId(), normalizeBuildRequest(request, deps.policy), new Date())
    // Stored before it is enqueued: nothing is acknowledged that is not kept.
    await store.create(record)
    try {
      await queue.enqueue(record.id)
    } catch (error) {
      await store
        .transition(record.id, {
          from: ['queued'],
          to: 'failed',
          set: { finishedAt: new Date().toISOString(), error: { code: 'INTERNAL', message: 'The build could not be queued.', phase: null } }
        })
        .catch(() => undefined)
      throw new RedisUnavailable({ cause: error })
    }
    return toResource(record)
  }

  async function get(id: string): Promise<Build> {
    const record = await store.get(id)
    if (!record) throw new BuildNotFound(id)
    return toResource(record)
  }

  async function list(query: ListQuery): Promise<{ items: Build[]; nextCursor: string | null }> {
    const page = await store.list(query)
    return { items: page.items.map(toResource), nextCursor: page.nextCursor }
  }

  /** The build's log from the start; throws BUILD_NOT_FOUND before anything is streamed. */
  async function logs(id: string): Promise<AsyncGenerator<LogEntry>> {
    if (!(await deps.redis.exists(deps.keys.build(id)))) throw new BuildNotFound(id)
    return readLogEntries(deps.redis, deps.keys, id)
  }

  return { submit, get, list, logs }
}

export type BuildService = ReturnType<typeof createBuildService>

export function toResource(record: BuildRecord): Build {
  const self = `/v1/builds/${record.id}`
  return { ...record, links: { self, logs: `${self}/logs` } }
}
