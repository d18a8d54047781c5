import { mkdir } from 'node:fs/promises'
import { Worker } from 'bullmq'
import Docker from 'dockerode'
import type { Logger } from 'pino'
import { BUILD_QUEUE, type BuildJobData } from '../src/builds/build-queue.js'
import { createBuildStore } from '../src/builds/build-store.js'
import { redisKeys } from '../src/builds/keys.js'
import type { Config } from '../src/config.js'
import { createRedis } from '../src/redis.js'
import { createWebhookQueue } from '../src/webhooks/webhook-queue.js'
import { runBuild } from './run-build.js'

/** Takes builds from the queue and runs them on this host's Docker Engine, `concurrency` at a time. */
export async function startBuildWorker(config: Config, logger: Logger): Promise<{ close(): Promise<void> }> {
  await mkdir(config.workDir, { recursive: true })
  const redis = createRedis(config.redisUrl, 'worker', logger)
  const keys = redisKeys(config.prefix)
  // dockerode reads DOCKER_HOST (and DOCKER_TLS_VERIFY, DOCKER_CERT_PATH) itself.
  const docker = new Docker()
  const events = createWebhookQueue(redis, config.prefix, { attempts: config.webhookAttempts, backoffMs: config.webhookBackoffMs }, (error) =>
    logger.warn({ err: error }, 'webhook queue error')
  )
  const deps = {
    redis,
    keys,
    store: createBuildStore(redis, keys),
    docker,
    logger,
    events,
    settings: {
      workDir: config.workDir,
      dockerConfig: config.dockerConfig,
      allowLocalRepos: config.allowLocalRepos,
      logMaxBytes: config.logMaxBytes,
      builder: config.builder
    }
  }
  const worker = new Worker<BuildJobData>(BUILD_QUEUE, (job, _token, signal) => runBuild(job.data.buildId, deps, signal), {
    connection: redis,
    prefix: config.prefix,
    concurrency: config.concurrency
  })
  worker.on('error', (error) => logger.warn({ err: error }, 'build worker error'))
  worker.on('failed', (job, error) => logger.error({ err: error, buildId: job?.data.buildId }, 'build job failed'))
  logger.info({ concurrency: config.concurrency, dockerHost: config.dockerHost || 'default' }, 'build worker started')
  return {
    async close() {
      await worker.close()
      await events.close()
      await redis.quit().catch(() => redis.disconnect())
    }
  }
}
