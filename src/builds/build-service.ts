import type { Redis } from 'ioredis'
import { monotonicFactory } from 'ulid'
import { BuildNotFound, RedisUnavailable } from '../errors.js'
import { TERMINAL_STATUSES, type BuildRequest, type Build } from '../schemas/build.js'
import { toResource } from './build-resource.js'
import { readLogEvents, tailStart, type LogEvent } from './build-log.js'
import { followLog } from './log-follower.js'
import type { BuildQueue } from './build-queue.js'
import { newBuildRecord, normalizeBuildRequest, type RequestPolicy } from './build-request.js'
import type { BuildStore, ListQuery } from './build-store.js'
import type { RedisKeys } from './keys.js'
import type { WebhookQueue } from '../webhooks/webhook-queue.js'
import type { WebhookService } from '../webhooks/webhook-service.js'

const newId = monotonicFactory()

/** What the API does with builds; it never runs git or docker itself. */
export function createBuildService(deps: {
  redis: Redis
  keys: RedisKeys
  store: BuildStore
  queue: BuildQueue
  webhooks: WebhookService
  events: WebhookQueue
  policy: RequestPolicy
  logger: { error(details: object, message: string): void }
}) {
  const { store, queue } = deps

  async function submit(request: BuildRequest): Promise<Build> {
    const normalized = normalizeBuildRequest(request, deps.policy)
    const webhooks = deps.webhooks.prepareBuildWebhooks(request.webhooks)
    const record = newBuildRecord(newId(), { ...normalized, webhooks: webhooks.views }, new Date())
    // Stored before it is enqueued: nothing is acknowledged that is not kept. The build's own
    // subscriptions (with their secrets) are kept beside the record, never in it.
    await store.create(record)
    if (webhooks.stored.length > 0) await deps.redis.set(deps.keys.buildWebhooks(record.id), JSON.stringify(webhooks.stored))
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
    const resource = toResource(record)
    // The build is queued whatever happens to its announcement; a lost one is logged.
    await deps.events.emit('build.queued', resource).catch((error: unknown) => deps.logger.error({ err: error, buildId: record.id }, 'build.queued was not announced'))
    // The secrets Slipway made are shown in this answer, once.
    const made = webhooks.stored.map((webhook, i) => (request.webhooks?.[i]?.secret === undefined ? webhook.secret : undefined))
    return { ...resource, request: { ...resource.request, webhooks: webhooks.views.map((view, i) => ({ ...view, ...(made[i] ? { secret: made[i] } : {}) })) } }
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

  /**
   * Where a log read starts (the entry id to read after): after `after` (an entry id, as SSE's
   * Last-Event-ID), at `since` (a time), or `tail` lines before the end. Throws BUILD_NOT_FOUND.
   */
  async function logStart(id: string, from: { after?: string | undefined; since?: string | undefined; tail?: number | undefined }): Promise<string> {
    if (!(await deps.redis.exists(deps.keys.build(id)))) throw new BuildNotFound(id)
    if (from.after) return from.after
    if (from.since) return `${Date.parse(from.since) - 1}-18446744073709551615`
    if (from.tail) return tailStart(deps.redis, deps.keys, id, from.tail)
    return '0-0'
  }

  function readLog(id: string, after: string): AsyncGenerator<LogEvent> {
    return readLogEvents(deps.redis, deps.keys, id, after)
  }

  /** Follows the log live until the build ends; `stop()` ends it early (the client went away). */
  async function followBuildLog(id: string, after: string): Promise<{ events: AsyncGenerator<LogEvent>; stop: () => void }> {
    // XREAD BLOCK holds its connection, so each follower gets one of its own.
    const blocking = deps.redis.duplicate({ lazyConnect: true, enableOfflineQueue: true })
    await blocking.connect()
    const isFinished = async () => TERMINAL_STATUSES.includes((await store.get(id))?.status ?? 'failed')
    const events = followLog(blocking, deps.keys, id, { after, isFinished })
    return {
      events: (async function* () {
        try {
          yield* events
        } finally {
          blocking.disconnect()
        }
      })(),
      stop: () => blocking.disconnect()
    }
  }

  return { submit, get, list, logStart, readLog, followBuildLog }
}

export type BuildService = ReturnType<typeof createBuildService>
