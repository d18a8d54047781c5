import { Queue } from 'bullmq'
import type { Redis } from 'ioredis'
import type { Config } from '../domain/config.js'
import { newId } from '../domain/ids.js'
import { recordsLifetimeMs } from '../domain/retention.js'
import { EVENTS_STREAM } from './build-queue.js'
import type { Build } from '../domain/schemas/build.js'
import type { BuildEventType } from '../domain/webhooks/event-types.js'

export const WEBHOOK_QUEUE = 'webhooks'

/** An event of a build, with the build as it was then. */
export interface FanoutJobData {
  eventId: string
  type: BuildEventType
  sequence: number
  timestamp: string
  build: Build
}

export interface DeliverJobData {
  deliveryId: string
}

/** The two jobs of the webhook queue, by name: one handler each. */
export type WebhookJob = { name: 'fanout'; data: FanoutJobData } | { name: 'deliver'; data: DeliverJobData }

// An event's place in its build's life; followers of several events use it to order them.
const SEQUENCE: Record<BuildEventType, number> = {
  'build.queued': 1,
  'build.started': 2,
  'build.succeeded': 3,
  'build.failed': 3,
  'build.canceled': 3,
  'build.timed_out': 3
}
const KEEP_SECONDS = 7 * 86_400

export interface WebhookQueueSettings {
  /** A delivery's attempts, and the first backoff between them (doubling, with jitter). */
  attempts: number
  backoffMs: number
  /** How long an event's job is kept after it ran, so a repeated announcement is recognised. */
  eventKeepSeconds: number
}

/**
 * The queue's settings from the configuration. An event's job carries the whole build and is
 * kept a week, or as long as the build's record (SLIPWAY_RETENTION) if that is shorter: nothing
 * of a build outlives its record, and a repeat of an event comes within the build's lifetime.
 */
export function webhookQueueSettings (config: Pick<Config, 'webhookAttempts' | 'webhookBackoffMs' | 'retention'>): WebhookQueueSettings {
  return { attempts: config.webhookAttempts, backoffMs: config.webhookBackoffMs, eventKeepSeconds: Math.min(KEEP_SECONDS, recordsLifetimeMs(config.retention) / 1000) }
}

/** Puts build events and deliveries on the webhook queue. Callers never see bullmq. */
export function createWebhookQueue (connection: Redis, prefix: string, settings: WebhookQueueSettings, onError: (error: Error) => void) {
  const queue = new Queue<FanoutJobData | DeliverJobData>(WEBHOOK_QUEUE, { connection, prefix, streams: EVENTS_STREAM })
  queue.on('error', onError)
  return {
    /** Announces an event of a build. The job id makes announcing it twice harmless. */
    async emit (type: BuildEventType, build: Build): Promise<void> {
      const data: FanoutJobData = { eventId: newId(), type, sequence: SEQUENCE[type], timestamp: new Date().toISOString(), build }
      const keep = { age: settings.eventKeepSeconds }
      await queue.add('fanout', data, { jobId: `${build.id}.${type}`, removeOnComplete: keep, removeOnFail: keep })
    },
    /** Sends a delivery, retrying with exponential backoff and jitter; `attempt` names a redelivery. */
    async deliver (deliveryId: string, redelivery?: number): Promise<void> {
      await queue.add(
        'deliver',
        { deliveryId },
        {
          jobId: redelivery ? `${deliveryId}.r${redelivery}` : deliveryId,
          attempts: settings.attempts,
          backoff: { type: 'exponential', delay: settings.backoffMs, jitter: 0.5 },
          removeOnComplete: true,
          removeOnFail: { age: KEEP_SECONDS }
        }
      )
    },
    /** How many jobs are in each state (waiting, active, delayed, failed, …), for metrics. */
    counts: () => queue.getJobCounts(),
    close: () => queue.close()
  }
}

export type WebhookQueue = ReturnType<typeof createWebhookQueue>

export function eventTypeOf (status: Build['status']): BuildEventType {
  return status === 'queued' ? 'build.queued' : status === 'running' ? 'build.started' : `build.${status}`
}
