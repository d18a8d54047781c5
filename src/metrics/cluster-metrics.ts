import { Gauge, type Registry } from 'prom-client'
import type { BuildStatus } from '../domain/schemas/build.js'

/** Counts that describe the whole installation, read from Redis: every API process reads the same. */
export interface ClusterCounts {
  builds(): Promise<Record<BuildStatus, number>>
  /** Jobs in each state, by queue name. */
  queues(): Promise<Record<string, Record<string, number>>>
}

/**
 * slipway_builds and slipway_queue_jobs, read from Redis at each scrape, so any API replica gives
 * the same figures. While Redis is unreachable they have no samples rather than stale ones
 * (slipway_redis_up says why).
 */
export function registerClusterMetrics (registry: Registry, counts: ClusterCounts): void {
  // Registered here only, not also in prom-client's global registry (`registers: []`).
  registry.registerMetric(new Gauge({
    name: 'slipway_builds',
    help: 'Builds stored in each status, across every process sharing this Redis',
    labelNames: ['status'],
    registers: [],
    async collect () {
      const byStatus = await counts.builds().catch(() => null)
      this.reset()
      for (const [status, count] of Object.entries(byStatus ?? {})) this.set({ status }, count)
    }
  }))
  registry.registerMetric(new Gauge({
    name: 'slipway_queue_jobs',
    help: 'Jobs in each state of each queue (builds, webhooks); queued builds are "prioritized", since every build has a priority',
    labelNames: ['queue', 'state'],
    registers: [],
    async collect () {
      const byQueue = await counts.queues().catch(() => null)
      this.reset()
      for (const [queue, byState] of Object.entries(byQueue ?? {})) {
        for (const [state, count] of Object.entries(byState)) this.set({ queue, state }, count)
      }
    }
  }))
}
