import os from 'node:os'
import { setTimeout as delay } from 'node:timers/promises'
import { Worker, WaitingError } from 'bullmq'
import Docker from 'dockerode'
import type { Logger } from 'pino'
import { Registry } from 'prom-client'
import { endBuild, workerLost } from '../src/services/build-ending.js'
import { readRedisMemory } from '../src/services/storage-report.js'
import { startHostReports } from './host-report.js'
import { BUILD_QUEUE, type BuildJobData } from '../src/storage/build-queue.js'
import { repoPolicy } from '../src/domain/builds/repo-url.js'
import { isNamedNetwork } from '../src/domain/builds/build-network.js'
import { ConfigError, type Config } from '../src/domain/config.js'
import type { Dependencies } from '../src/metrics/reachability.js'
import { registerBuildMetrics, registerHostMetrics } from '../src/metrics/worker-metrics.js'
import { createRedis } from '../src/storage/redis.js'
import { createStorage } from '../src/storage/storage.js'
import { keyringOf } from '../src/domain/secrets/secret-key.js'
import { parseSigningKey } from '../src/domain/supply-chain/signing-key.js'
import { packageVersion } from '../src/package-info.js'
import { webhookQueueSettings } from '../src/storage/webhook-queue.js'
import { networkExists } from './docker/build-network.js'
import { engineIdentity } from './docker/engine-identity.js'
import { startReconciler } from './reconciler.js'
import { ABORT_REASONS, runBuild } from './run-build.js'
import { startHostSpace, type FreeSpaceProbe } from './host-space.js'
import { MirrorCache } from './source/git-mirror.js'
import { claimWorkDir } from './work-dir.js'

// How often running builds' records are looked at: a cancel stops a build within about this long.
const CHECK_MS = 1000

/**
 * Takes builds from the queue and runs them on this host's Docker Engine, `concurrency` at a time.
 * Stops the builds someone cancels, hands running builds back to the queue when it shuts down, and
 * gives up on a build whose workers keep dying. Its metrics go to `metrics`, the process's registry;
 * `dependencies` are what its readiness depends on.
 */
export async function startBuildWorker (
  config: Config,
  logger: Logger,
  metrics = new Registry(),
  host: { freeSpace?: FreeSpaceProbe; checkIntervalMs?: number; docker?: Docker } = {}
): Promise<{ close(): Promise<void>; dependencies: Dependencies }> {
  // dockerode reads DOCKER_HOST (and DOCKER_TLS_VERIFY, DOCKER_CERT_PATH) itself; tests may hand in another engine's client.
  const docker = host.docker ?? new Docker()
  await checkNetworkAtStart(docker, config.buildNetwork, logger)
  const redis = createRedis(config.redisUrl, 'worker', logger)
  const storage = createStorage(redis, config)
  // Without SLIPWAY_SECRETS_KEY no secret opens here, and a build that names one fails saying so.
  const keyring = keyringOf(config)
  const store = storage.builds
  const onQueueError = (error: Error) => logger.warn({ err: error }, 'queue error')
  const events = storage.webhookQueue(webhookQueueSettings(config), onQueueError)
  // Where this process builds, as build records and host reports name it: the engine is asked once, for both.
  const place = { worker: `${os.hostname()}:${process.pid}`, engine: engineIdentity(docker) }
  // The builds this process runs, with the attempt it runs of each.
  const running = new Map<string, number | null>()
  const deps = {
    onAttempt: (buildId: string, attempt: number) => {
      running.set(buildId, attempt)
    },
    store,
    logs: storage.buildLogs,
    uploads: storage.storedUploads,
    imageScans: storage.imageScans,
    cacheFacts: storage.cacheFacts,
    buildPackages: storage.buildPackages,
    secretStore: { secrets: keyring ? storage.secrets(keyring) : null, triggers: storage.triggers },
    docker,
    place,
    logger,
    events,
    metrics: registerBuildMetrics(metrics),
    // A build's hold on a mirror outlives any build that can still be running.
    mirrors: new MirrorCache({ dir: config.mirrorDir, maxBytes: config.mirrorMaxBytes, holdMaxMs: (config.buildTimeoutMaxSeconds + 600) * 1000 }),
    settings: {
      workDir: await claimWorkDir(config.workDir, logger),
      dockerConfig: config.dockerConfig,
      gitCredentialsFile: config.gitCredentialsFile,
      logMaxBytes: config.logMaxBytes,
      queueTtlSeconds: config.queueTtlSeconds,
      maxAttempts: config.maxAttempts
    },
    pipeline: {
      repoPolicy: repoPolicy(config),
      clone: { timeoutMs: config.cloneTimeoutSeconds * 1000, maxBytes: config.cloneMaxBytes },
      contextMaxBytes: config.contextMaxBytes,
      build: { memoryBytes: config.buildMemoryBytes, cpus: config.buildCpus },
      baseImagePull: config.baseImagePull,
      registryCache: config.registryCache,
      sbom: config.sbom,
      provenance: config.provenance,
      signingKey: config.signingKey ? parseSigningKey(config.signingKey) : null,
      installation: { publicUrl: config.publicUrl, version: packageVersion },
      builder: config.builder,
      network: config.buildNetwork
    }
  }

  const worker = new Worker<BuildJobData>(
    BUILD_QUEUE,
    async (job, token, signal) => {
      // A job fetched as the worker paused (BullMQ may finish a fetch it had started) waits for another worker, or for space.
      if (hostSpace.paused() !== null) {
        await job.moveToWait(token)
        throw new WaitingError()
      }
      running.set(job.data.buildId, null)
      try {
        if ((await runBuild(job.data.buildId, deps, signal)) === 'handed-back') {
          await job.moveToWait(token)
          throw new WaitingError()
        }
      } finally {
        running.delete(job.data.buildId)
        hostSpace.afterBuild()
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
      maxStalledCount: config.maxAttempts - 1,
      // The host's free space is looked at before the first build is taken.
      autorun: false
    }
  )
  // Pausing lets running builds go on: only new ones wait in the queue.
  const hostSpace = startHostSpace({
    docker,
    logger,
    metrics: registerHostMetrics(metrics),
    buildCacheMaxBytes: config.buildCacheMaxBytes,
    diskMinFreeBytes: config.diskMinFreeBytes,
    intake: { pause: () => worker.pause(true), resume: () => worker.resume() },
    probe: host.freeSpace,
    checkIntervalMs: host.checkIntervalMs
  })
  const hostReports = startHostReports({ docker, ...place, reports: storage.hostReports, logger, mirrors: deps.mirrors, hostSpace })
  // An engine that does not answer holds no start up: its checks go on every 15 s.
  await Promise.race([hostSpace.check(), delay(10_000, undefined, { ref: false })])
  void worker.run().catch((error: unknown) => logger.error({ err: error }, 'build worker stopped'))
  worker.on('error', (error) => logger.warn({ err: error }, 'build worker error'))
  worker.on('failed', (job, error) => {
    if (!job || !/stalled more than allowable limit/.test(error.message)) return
    logger.warn({ buildId: job.data.buildId }, 'build lost with its workers too often')
    const ending = { store, events }
    void endBuild(ending, job.data.buildId, { from: ['queued', 'running'], to: 'failed', error: workerLost(config.maxAttempts) }).catch((err: unknown) =>
      logger.error({ err, buildId: job.data.buildId }, 'could not end a lost build')
    )
  })

  // Each running build's record is looked at every second: a cancel asked of any API process, or
  // another worker having started the build again (this one lost its lock), stops it here.
  const ownershipChecks = setInterval(() => {
    const started = [...running].filter((entry): entry is [string, number] => entry[1] !== null)
    if (started.length === 0) return
    void store.watch(started.map(([id]) => id)).then((watched) => {
      for (const [i, now] of watched.entries()) {
        const [id, attempt] = started[i]!
        if (now === null) continue
        if (now.attempts !== null && now.attempts !== attempt) worker.cancelJob(id, ABORT_REASONS.stale)
        else if (now.cancelRequested) worker.cancelJob(id, ABORT_REASONS.cancel)
      }
    }, () => undefined)
  }, CHECK_MS)

  const reconciler = startReconciler(
    { ...deps, queue: storage.buildQueue(onQueueError), logger },
    { intervalMs: config.stallSeconds * 1000, queueTtlSeconds: config.queueTtlSeconds }
  )
  logger.info({ concurrency: config.concurrency, dockerHost: config.dockerHost || 'default' }, 'build worker started')

  return {
    dependencies: { redis, docker: deps.docker, paused: hostSpace.paused, redisMemory: () => readRedisMemory(storage.keyCensus) },
    /** Takes no new builds; running ones may finish within the grace period, then go back to the queue. */
    async close () {
      clearInterval(ownershipChecks)
      await hostSpace.stop()
      await hostReports.stop()
      await reconciler.stop()
      const grace = setTimeout(() => worker.cancelAllJobs(ABORT_REASONS.shutdown), config.shutdownGraceSeconds * 1000)
      await worker.close()
      clearTimeout(grace)
      await events.close()
      await redis.quit().catch(() => redis.disconnect())
    }
  }
}

/**
 * A worker whose named build network is missing would fail every build: it does not start. An
 * engine not reachable yet is no reason not to start; each build checks its network again.
 */
async function checkNetworkAtStart (docker: Docker, network: string, logger: Logger): Promise<void> {
  if (!isNamedNetwork(network)) return
  let exists: boolean
  try {
    exists = await networkExists(docker, network)
  } catch (error) {
    logger.warn({ err: error, network }, 'could not look for the build network; each build looks again')
    return
  }
  if (!exists) {
    throw new ConfigError(
      `SLIPWAY_BUILD_NETWORK=${network}: the Docker Engine has no network of that name. Create it (docs/operations/build-network.md shows how), or set default or none.`
    )
  }
}
