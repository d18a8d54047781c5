import { Worker, WaitingError } from 'bullmq'
import Docker from 'dockerode'
import type { Logger } from 'pino'
import { endBuild } from '../src/builds/build-ending.js'
import { BUILD_QUEUE, createBuildQueue, type BuildJobData } from '../src/builds/build-queue.js'
import { createBuildStore } from '../src/builds/build-store.js'
import { redisKeys } from '../src/builds/keys.js'
import type { Config } from '../src/config.js'
import { createRedis } from '../src/redis.js'
import { createWebhookQueue } from '../src/webhooks/webhook-queue.js'
import { startReconciler } from './reconciler.js'
import { ABORT_REASONS, runBuild, workerLost } from './run-build.js'
import { claimWorkDir } from './work-dir.js'

// A running build's cancel flag is looked at this often: a cancel stops it within about this long.
const CANCEL_CHECK_MS = 1000

/**
 * Takes builds from the queue and runs them on this host's Docker Engine, `concurrency` at a time.
 * Stops the builds someone cancels, hands running builds back to the queue when it shuts down, and
 * gives up on a build whose workers keep dying.
 */
export async function startBuildWorker(config: Config, logger: Logger): Promise<{ close(): Promise<void> }> {
  const redis = createRedis(config.redisUrl, 'worker', logger)
  const keys = redisKeys(config.prefix)
  const store = createBuildStore(redis, keys)
  const onQueueError = (error: Error) => logger.warn({ err: error }, 'queue error')
  const events = createWebhookQueue(redis, config.prefix, { attempts: config.webhookAttempts, backoffMs: config.webhookBackoffMs }, onQueueError)
  const deps = {
    redis,
    keys,
    store,
    // dockerode reads DOCKER_HOST (and DOCKER_TLS_VERIFY, DOCKER_CERT_PATH) itself.
    docker: new Docker(),
    logger,
    events,
    settings: {
      workDir: await claimWorkDir(config.workDir, logger),
      dockerConfig: config.dockerConfig,
      allowLocalRepos: config.allowLocalRepos,
      logMaxBytes: config.logMaxBytes,
      builder: config.builder,
      queueTtlSeconds: config.queueTtlSeconds,
      maxAttempts: config.maxAttempts
    }
  }

  const running = new Set<string>()
  const worker = new Worker<BuildJobData>(
    BUILD_QUEUE,
    async (job, token, signal) => {
      running.add(job.data.buildId)
      try {
        if ((await runBuild(job.data.buildId, deps, signal)) === 'handed-back') {
          await job.moveToWait(token)
          throw new WaitingError()
        }
      } finally {
        running.delete(job.data.buildId)
      }
    },
    {
      connection: redis,
      prefix: config.prefix,
      concurrency: config.concurrency,
      // A worker that dies loses its lock; after this long another worker runs the build again,
      // up to maxAttempts starts in all.
      lockDuration: config.stallSeconds * 1000,
      stalledInterval: config.stallSeconds * 1000,
      maxStalledCount: config.maxAttempts - 1
    }
  )
  worker.on('error', (error) => logger.warn({ err: error }, 'build worker error'))
  worker.on('failed', (job, error) => {
    if (!job || !/stalled more than allowable limit/.test(error.message)) return
    logger.warn({ buildId: job.data.buildId }, 'build lost with its workers too often')
    const ending = { redis, keys, store, events }
    void endBuild(ending, job.data.buildId, { from: ['queued', 'running'], to: 'failed', error: workerLost(config.maxAttempts) }).catch((err: unknown) =>
      logger.error({ err, buildId: job.data.buildId }, 'could not end a lost build')
    )
  })

  const cancelChecks = setInterval(() => {
    if (running.size === 0) return
    const ids = [...running]
    const pipeline = redis.pipeline()
    for (const id of ids) pipeline.hget(keys.build(id), 'cancelRequested')
    void pipeline.exec().then((answers) => {
      for (const [i, [, flag]] of (answers ?? []).entries()) {
        if (flag === 'true') worker.cancelJob(ids[i]!, ABORT_REASONS.cancel)
      }
    }, () => undefined)
  }, CANCEL_CHECK_MS)

  const reconciler = startReconciler(
    { ...deps, queue: createBuildQueue(redis, config.prefix, onQueueError), logger },
    { intervalMs: config.stallSeconds * 1000, queueTtlSeconds: config.queueTtlSeconds }
  )
  logger.info({ concurrency: config.concurrency, dockerHost: config.dockerHost || 'default' }, 'build worker started')

  return {
    /** Takes no new builds; running ones may finish within the grace period, then go back to the queue. */
    async close() {
      clearInterval(cancelChecks)
      await reconciler.stop()
      const grace = setTimeout(() => worker.cancelAllJobs(ABORT_REASONS.shutdown), config.shutdownGraceSeconds * 1000)
      await worker.close()
      clearTimeout(grace)
      await events.close()
      await redis.quit().catch(() => redis.disconnect())
    }
  }
}
