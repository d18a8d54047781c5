import type { BuildError, BuildRecord, BuildStatus } from '../domain/schemas/build.js'
import { eventTypeOf, type WebhookQueue } from '../storage/webhook-queue.js'
import { toResource } from '../domain/builds/build-resource.js'
import type { BuildStore } from '../storage/build-store.js'

export interface EndingContext {
  store: BuildStore
  events: Pick<WebhookQueue, 'emit'>
}

/**
 * Ends a build that no worker is running to its end (canceled while queued, superseded, expired
 * in the queue, lost with its workers): the terminal state once, with its status event for log
 * followers (in the same step: see the build store), then its announcement for webhooks. Returns
 * false when the build was not in `from`.
 */
export async function endBuild (
  ctx: EndingContext,
  id: string,
  change: { from: BuildStatus[]; to: BuildStatus; error: BuildError; set?: Pick<Partial<BuildRecord>, 'canceledBy' | 'canceledAt'> }
): Promise<boolean> {
  const finishedAt = new Date()
  const startedAt = (await ctx.store.get(id))?.startedAt
  const ended = await ctx.store.transition(id, {
    from: change.from,
    to: change.to,
    set: {
      finishedAt: finishedAt.toISOString(),
      durationMs: startedAt ? finishedAt.getTime() - Date.parse(startedAt) : null,
      error: change.error,
      ...change.set
    }
  })
  if (!ended) return false
  const record = await ctx.store.get(id)
  if (record) await ctx.events.emit(eventTypeOf(record.status), toResource(record))
  return true
}

export function workerLost (attempts: number): BuildError {
  return {
    code: 'WORKER_LOST',
    message: `The worker running the build was lost ${attempts} time(s) (killed, or its host went away); Slipway gave up. Retry the build.`,
    phase: null
  }
}

export function queueExpired (ttlSeconds: number): BuildError {
  return {
    code: 'QUEUE_EXPIRED',
    message: `The build waited in the queue more than ${ttlSeconds} s (SLIPWAY_QUEUE_TTL_SECONDS) and was not started.`,
    phase: null
  }
}
