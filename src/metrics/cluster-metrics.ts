import { Gauge, type Registry } from 'prom-client'
import type { BuildStatus } from '../domain/schemas/build.js'
import type { RedisMemory } from '../domain/schemas/storage.js'

/** Counts that describe the whole installation, read from Redis: every API process reads the same. */
export interface ClusterCounts {
  builds(): Promise<Record<BuildStatus, number>>
  /** Jobs in each state, by queue name. */
  queues(): Promise<Record<string, Record<string, number>>>
  /** null when Redis does not say. */
  redisMemory(): Promise<RedisMemory | null>
  /** Slipway's keys by kind, as the last key census counted them; null before the first. */
  keys(): Promise<Record<string, number> | null>
}

/**
 * slipway_builds, slipway_queue_jobs and the slipway_redis_* figures, read from Redis at each scrape, so any API replica gives
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
  registry.registerMetric(new Gauge({
    name: 'slipway_redis_memory_used_bytes',
    help: "Redis's used_memory (every user of this Redis, not Slipway's keys alone)",
    registers: [],
    async collect () {
      const memory = await counts.redisMemory().catch(() => null)
      this.reset()
      if (memory) this.set(memory.usedBytes)
    }
  }))
  registry.registerMetric(new Gauge({
    name: 'slipway_redis_memory_max_bytes',
    help: "Redis's maxmemory; no sample when it has none",
    registers: [],
    async collect () {
      const memory = await counts.redisMemory().catch(() => null)
      this.reset()
      if (memory?.maxBytes) this.set(memory.maxBytes)
    }
  }))
  registry.registerMetric(new Gauge({
    name: 'slipway_redis_keys',
    help: "Slipway's keys in Redis by kind, as the retention sweeper last counted them (every 5 minutes)",
    labelNames: ['kind'],
    registers: [],
    async collect () {
      const byKind = await counts.keys().catch(() => null)
      this.reset()
      for (const [kind, count] of Object.entries(byKind ?? {})) this.set({ kind }, count)
    }
  }))
}
