import { Counter, Gauge, Histogram, type Registry } from 'prom-client'

// From a cached step (well under a second) to a long build or a day in the queue.
const PHASE_BUCKETS_SECONDS = [0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600]
const WAIT_BUCKETS_SECONDS = [0.1, 0.5, 1, 5, 10, 30, 60, 300, 900, 3600, 14_400, 86_400]

/**
 * What a build worker observes as it happens, counted in its own process: Prometheus adds up the
 * workers. Labels are small closed sets (phase, status, error code) or the engine's name (one per
 * Docker host), never build ids, URLs or worker processes.
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
      help: 'Builds this worker ran to a terminal state, by status, error code ("none" for a success) and Docker Engine (its name, "unknown" when it could not be asked)',
      labelNames: ['status', 'code', 'engine'] as const,
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

/** The worker's Docker host: free space on the engine's data root, and whether the worker takes builds. */
export function registerHostMetrics (registry: Registry) {
  return {
    diskFreeBytes: new Gauge({
      name: 'slipway_disk_free_bytes',
      help: "Free bytes on the Docker Engine's data root as this worker last measured them (every 15 s); absent where it cannot measure them",
      registers: [registry]
    }),
    paused: new Gauge({
      name: 'slipway_worker_paused',
      help: 'Whether this worker takes no new builds (1) or takes them (0), by reason: disk (free space under SLIPWAY_DISK_MIN_FREE_BYTES)',
      labelNames: ['reason'] as const,
      registers: [registry]
    }),
    prunedBytes: new Counter({
      name: 'slipway_pruned_bytes_total',
      help: 'Bytes this worker freed on its Docker Engine by pruning, by what: build_cache (to SLIPWAY_BUILD_CACHE_MAX_BYTES or for the disk watermark), images (dangling images, for the watermark)',
      labelNames: ['what'] as const,
      registers: [registry]
    })
  }
}
export type HostMetrics = ReturnType<typeof registerHostMetrics>
