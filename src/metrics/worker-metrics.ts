import { Counter, Histogram, type Registry } from 'prom-client'

// From a cached step (well under a second) to a long build or a day in the queue.
const PHASE_BUCKETS_SECONDS = [0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600]
const WAIT_BUCKETS_SECONDS = [0.1, 0.5, 1, 5, 10, 30, 60, 300, 900, 3600, 14_400, 86_400]

/**
 * What a build worker observes as it happens, counted in its own process: Prometheus adds up the
 * workers. Labels are small closed sets (phase, status, error code), never build ids or URLs.
 */
export function registerBuildMetrics (registry: Registry) {
  return {
    phaseSeconds: new Histogram({
      name: 'slipway_build_phase_duration_seconds',
      help: 'How long each build phase took on this worker, by phase and outcome (succeeded or failed)',
      labelNames: ['phase', 'outcome'] as const,
      buckets: PHASE_BUCKETS_SECONDS,
      registers: [registry]
    }),
    queueWaitSeconds: new Histogram({
      name: 'slipway_build_queue_wait_seconds',
      help: 'Time from a build being submitted to this worker starting it (its first start)',
      buckets: WAIT_BUCKETS_SECONDS,
      registers: [registry]
    }),
    finished: new Counter({
      name: 'slipway_builds_finished_total',
      help: 'Builds this worker ran to a terminal state, by status and error code ("none" for a success)',
      labelNames: ['status', 'code'] as const,
      registers: [registry]
    })
  }
}
export type BuildMetrics = ReturnType<typeof registerBuildMetrics>

/** Webhook delivery attempts made by this worker, by what came of them. */
export function registerWebhookMetrics (registry: Registry) {
  return {
    attempts: new Counter({
      name: 'slipway_webhook_delivery_attempts_total',
      help: 'Webhook delivery attempts by this worker: delivered, retrying (failed, will be tried again), failed (no attempts left), abandoned (not sent or 410 Gone)',
      labelNames: ['outcome'] as const,
      registers: [registry]
    })
  }
}
export type WebhookMetrics = ReturnType<typeof registerWebhookMetrics>
