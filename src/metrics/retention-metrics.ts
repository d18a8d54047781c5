import { Counter, type Registry } from 'prom-client'

/** What this process's retention sweeps removed, by kind (builds, logs, deliveries, tombstones, auditEntries). */
export function registerRetentionMetrics (registry: Registry): (kind: string, count: number) => void {
  const removed = new Counter({
    name: 'slipway_retention_removed_total',
    help: "What this process's retention sweeps removed, by kind: builds, logs, deliveries, tombstones, auditEntries",
    labelNames: ['kind'] as const,
    registers: [registry]
  })
  return (kind, count) => removed.inc({ kind }, count)
}
