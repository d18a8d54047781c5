import closeWithGrace from 'close-with-grace'
import Fastify from 'fastify'
import fp from 'fastify-plugin'
import { pino } from 'pino'
import { collectDefaultMetrics, Registry } from 'prom-client'
import { startBuildWorker } from '../workers/build-worker.js'
import { startWebhookWorker } from '../workers/webhook-worker.js'
import slipwayApp, { serverOptions } from './api/app.js'
import { ConfigError, describeConfig, loadConfig } from './domain/config.js'
import { createLogOutput } from './log-output.js'
import { startMetricsServer } from './api/metrics-server.js'
import { retentionPolicy } from './domain/retention.js'
import { registerRetentionMetrics } from './metrics/retention-metrics.js'
import { watchRedisMemory } from './services/redis-memory-watch.js'
import { createRetentionSweeper, sweepInterval } from './services/retention-sweeper.js'
import { readRedisMemory } from './services/storage-report.js'
import { createRedis } from './storage/redis.js'
import { createStorage } from './storage/storage.js'

const HELP = `Slipway: builds container images from git repositories.

Usage: npm start            (or: node dist/src/server.js)

Runs the HTTP API and a build worker in one process. Set SLIPWAY_ROLE=api or
SLIPWAY_ROLE=worker to run one of them; run as many of each as you like against
one Redis. Configuration comes from the environment:

${describeConfig()
  .map((setting) => `  ${setting.variable.padEnd(27)} ${setting.description}\n  ${''.padEnd(27)} default: ${JSON.stringify(setting.default) || '(none)'}`)
  .join('\n')}
`

async function main (): Promise<void> {
  if (process.argv.includes('--help') || process.argv.includes('-h')) {
    process.stdout.write(HELP)
    return
  }
  const config = loadConfig()
  const logger = pino({ level: config.logLevel, base: { role: config.role } }, createLogOutput())
  const closers: (() => Promise<void>)[] = []
  // One registry for the process: with role all, the API's /metrics shows the worker's figures too.
  const metrics = new Registry()
  collectDefaultMetrics({ register: metrics })

  // With role all, the API's /readyz also says when this process's worker takes no builds; the
  // worker starts after the API, so the API asks it through this.
  let workerPaused: () => string | null = () => null
  if (config.role === 'api' || config.role === 'all') {
    const app = Fastify(serverOptions(logger, config))
    await app.register(fp(slipwayApp), { config, metrics, ...(config.role === 'all' ? { paused: () => workerPaused() } : {}) })
    await app.listen({ host: config.host, port: config.port })
    closers.push(() => app.close())
  }
  if (config.role === 'worker' || config.role === 'all') {
    const buildWorker = await startBuildWorker(config, logger, metrics)
    const webhookWorker = await startWebhookWorker(config, logger, metrics)
    closers.push(() => buildWorker.close(), () => webhookWorker.close())
    workerPaused = buildWorker.dependencies.paused ?? workerPaused
    if (config.role === 'worker') {
      // Closed last: a draining worker's builds stay visible to Prometheus until they end.
      const server = await startMetricsServer(config, logger, metrics, buildWorker.dependencies)
      closers.push(() => server.close())
    }
  }

  // Every process sweeps expired history (docs/operations/retention.md); a lock in Redis lets one
  // at a time, on a connection of its own that waits for Redis rather than failing.
  const sweeperRedis = createRedis(config.redisUrl, 'worker', logger, `${config.prefix}:retention`)
  const sweeperStorage = createStorage(sweeperRedis, config)
  const policy = retentionPolicy(config)
  const sweeper = createRetentionSweeper({
    storage: sweeperStorage,
    policy,
    logger,
    onRemoved: registerRetentionMetrics(metrics)
  }).start(sweepInterval(policy))
  // On the same connection, every process watches Redis's memory and warns in its log near maxmemory.
  const memoryWatch = watchRedisMemory({ read: () => readRedisMemory(sweeperStorage.keyCensus), logger })
  closers.unshift(async () => {
    memoryWatch.close()
    await sweeper.close()
    await sweeperRedis.quit().catch(() => sweeperRedis.disconnect())
  })

  // Running builds get their grace period, then some time to hand themselves back, before a forced exit.
  closeWithGrace({ delay: (config.shutdownGraceSeconds + 30) * 1000, logger }, async ({ signal, err }) => {
    if (err) logger.error({ err }, 'shutting down after an error')
    else logger.info({ signal }, 'shutting down')
    for (const close of closers) await close()
  })
}

// A setting found wrong at start-up, by loadConfig or by a worker asking its Docker Engine, ends
// the process at once, whatever had started already.
await main().catch((error: unknown) => {
  if (!(error instanceof ConfigError)) throw error
  process.stderr.write(`${error.message}\nRun with --help for every setting and its default.\n`)
  process.exit(2)
})
