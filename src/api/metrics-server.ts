import Fastify from 'fastify'
import type { Logger } from 'pino'
import type { Registry } from 'prom-client'
import type { Config } from '../domain/config.js'
import healthRoutes from './routes/health.js'
import metricsRoutes from './routes/metrics.js'
import { registerReachabilityMetrics, type Dependencies } from '../metrics/reachability.js'

/**
 * /metrics, /healthz and /readyz for a process without the API (SLIPWAY_ROLE=worker), on
 * SLIPWAY_HOST:SLIPWAY_METRICS_PORT: the same routes the API serves, for this worker alone.
 */
export async function startMetricsServer (config: Config, logger: Logger, registry: Registry, dependencies: Dependencies): Promise<{ close(): Promise<void> }> {
  registerReachabilityMetrics(registry, dependencies)
  const server = Fastify({ loggerInstance: logger.child({ server: 'metrics' }) })
  await server.register(healthRoutes, { dependencies })
  await server.register(metricsRoutes, { registry })
  await server.listen({ host: config.host, port: config.metricsPort })
  return { close: () => server.close() }
}
