import { readFile } from 'node:fs/promises'
import path from 'node:path'
import type Docker from 'dockerode'
import type { Redis } from 'ioredis'
import { Registry } from 'prom-client'
import t from 'tap'
import { registerClusterMetrics } from '../../src/metrics/cluster-metrics.js'
import { registerReachabilityMetrics } from '../../src/metrics/reachability.js'
import { registerRetentionMetrics } from '../../src/metrics/retention-metrics.js'
import { registerBuildMetrics, registerHostMetrics, registerWebhookMetrics } from '../../src/metrics/worker-metrics.js'
import { packageRoot } from '../../src/package-info.js'

// docs/operations/metrics.md is the one list of Slipway's metrics: it must name every metric the
// code registers (a process of role all registers them all), and nothing that is not registered.
t.test('the metrics page lists exactly the metrics Slipway registers', async (t) => {
  const registry = new Registry()
  const never = () => new Promise<never>(() => undefined)
  registerClusterMetrics(registry, { builds: never, queues: never, redisMemory: never, keys: never })
  registerReachabilityMetrics(registry, { redis: {} as Redis, docker: {} as Docker })
  registerBuildMetrics(registry)
  registerHostMetrics(registry)
  registerWebhookMetrics(registry)
  registerRetentionMetrics(registry)
  const registered = registry.getMetricsAsArray().map((metric) => metric.name).sort()

  const page = await readFile(path.join(packageRoot, 'docs', 'operations', 'metrics.md'), 'utf8')
  const documented = [...page.matchAll(/^\| `(slipway_[a-z_]+)` \|/gm)].map((match) => match[1]).sort()

  t.ok(registered.length >= 8, `the code registers its metrics (${registered.join(', ')})`)
  t.same(documented, registered, 'the table in docs/operations/metrics.md')
})
