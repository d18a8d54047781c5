import { statfs } from 'node:fs/promises'
import type Docker from 'dockerode'
import type { Logger } from 'pino'
import { formatBytes } from '../src/domain/format.js'
import type { HostMetrics } from '../src/metrics/worker-metrics.js'
import { pruneBuildCache, pruneDanglingImages } from './docker/host-cleanup.js'

/** Free bytes where the engine keeps its images and build cache; null when that cannot be measured. */
export type FreeSpaceProbe = () => Promise<number | null>

export interface HostSpaceOptions {
  docker: Docker
  logger: Logger
  metrics: HostMetrics
  /** SLIPWAY_BUILD_CACHE_MAX_BYTES; 0 never prunes the build cache to a budget. */
  buildCacheMaxBytes: number
  /** SLIPWAY_DISK_MIN_FREE_BYTES; 0 turns the watermark off. */
  diskMinFreeBytes: number
  /** Stops and starts the worker taking builds (a running build is never stopped). */
  intake: { pause(): Promise<void>; resume(): Promise<void> }
  probe?: FreeSpaceProbe
  checkIntervalMs?: number
  pruneIntervalMs?: number
}

// The build cache is pruned to its budget after a build, at most this often per worker. A prune
// finds little to do when it comes often; between two, the cache grows by what the builds of the
// interval add (the soak bench saw a 5-minute interval swing the cache ±20% around its level).
export const PRUNE_INTERVAL_MS = 60_000
const CHECK_INTERVAL_MS = 15_000
// Build cache used more recently than this is never pruned: a running build may come back to it.
const CACHE_MIN_IDLE_SECONDS = 600
// Dangling images younger than this are left alone for the watermark: a classic build running
// now may have just made one and not yet built on it.
const DANGLING_MIN_AGE_SECONDS = 3600

/**
 * Keeps the worker's Docker host from filling up: prunes the build cache to its budget after
 * builds, and watches the free space on the engine's data root. Under the watermark it prunes;
 * still short, the worker takes no builds (why: `paused()`) until space returns.
 */
export function startHostSpace (options: HostSpaceOptions) {
  const { docker, logger, metrics } = options
  const probe = options.probe ?? dataRootProbe(docker, logger)
  const pruneIntervalMs = options.pruneIntervalMs ?? PRUNE_INTERVAL_MS
  let lastPrune = 0
  let pausedFor: string | null = null
  let checking: Promise<void> | null = null
  metrics.paused.set({ reason: 'disk' }, 0)

  const pruneCache = async (keepBytes: number): Promise<void> => {
    lastPrune = Date.now()
    const freed = await pruneBuildCache(docker, keepBytes, CACHE_MIN_IDLE_SECONDS)
    metrics.prunedBytes.inc({ what: 'build_cache' }, freed)
    if (freed > 0) logger.info({ freed, keepBytes }, `build cache pruned to ${formatBytes(keepBytes)}: ${formatBytes(freed)} freed`)
  }

  const check = async (): Promise<void> => {
    if (options.diskMinFreeBytes === 0) return
    let free = await probe()
    if (free === null) return
    metrics.diskFreeBytes.set(free)
    const min = options.diskMinFreeBytes
    if (free < min && pausedFor === null) {
      // Everything no running build holds: the build cache unused for 10 minutes (BuildKit also
      // keeps what builds hold) and dangling images an hour old, which no container uses.
      logger.warn({ free, min }, 'disk space under the watermark: pruning')
      await pruneCache(0).catch((error: unknown) => logger.warn({ err: error }, 'could not prune the build cache'))
      const freed = await pruneDanglingImages(docker, DANGLING_MIN_AGE_SECONDS).catch((error: unknown) => {
        logger.warn({ err: error }, 'could not prune dangling images')
        return 0
      })
      metrics.prunedBytes.inc({ what: 'images' }, freed)
      free = (await probe()) ?? free
      metrics.diskFreeBytes.set(free)
    }
    if (free < min && pausedFor === null) {
      pausedFor = `The Docker Engine's data root has ${formatBytes(free)} free, under the ${formatBytes(min)} this worker keeps (SLIPWAY_DISK_MIN_FREE_BYTES): it takes no builds until space returns.`
      metrics.paused.set({ reason: 'disk' }, 1)
      logger.warn({ free, min }, 'disk space still under the watermark after pruning: taking no builds')
      await options.intake.pause()
    } else if (free >= min && pausedFor !== null) {
      pausedFor = null
      metrics.paused.set({ reason: 'disk' }, 0)
      logger.info({ free, min }, 'disk space back over the watermark: taking builds again')
      await options.intake.resume()
    }
  }

  /** One check at a time; a check that fails is logged and tried again at the next tick. */
  const checkNow = (): Promise<void> => {
    checking ??= check()
      .catch((error: unknown) => logger.warn({ err: error }, 'could not check the disk space'))
      .finally(() => (checking = null))
    return checking
  }
  const timer = setInterval(() => {
    void checkNow()
  }, options.checkIntervalMs ?? CHECK_INTERVAL_MS)

  return {
    /** Why the worker takes no builds now, or null when it takes them. */
    paused: (): string | null => pausedFor,
    /** Free bytes on the engine's data root now; null where that cannot be measured. */
    freeBytes: (): Promise<number | null> => probe(),
    /** Checks the free space now (at start, before taking builds). */
    check: checkNow,
    /** After a build: the build cache back to its budget, unless pruned lately. */
    afterBuild (): void {
      if (options.buildCacheMaxBytes === 0 || Date.now() - lastPrune < pruneIntervalMs) return
      void pruneCache(options.buildCacheMaxBytes).catch((error: unknown) => logger.warn({ err: error }, 'could not prune the build cache'))
    },
    async stop (): Promise<void> {
      clearInterval(timer)
      await checking
    }
  }
}
export type HostSpace = ReturnType<typeof startHostSpace>

/**
 * The free space on the engine's data root (DockerRootDir), measured with statfs where the
 * worker sees that folder: it runs beside its engine, or has the folder mounted at the same path.
 * Elsewhere the watermark is off, and the worker says so once.
 */
export function dataRootProbe (docker: Docker, logger: Logger): FreeSpaceProbe {
  let root: string | null | undefined
  return async () => {
    if (root === undefined) {
      const info = (await docker.info()) as { DockerRootDir?: string }
      root = info.DockerRootDir ?? null
      if (root) {
        await statfs(root).catch(() => {
          logger.warn({ dataRoot: root }, "the Docker Engine's data root is not visible to this worker: the disk watermark is off (docs/operations/disk.md)")
          root = null
        })
      }
    }
    if (!root) return null
    const stats = await statfs(root)
    return stats.bavail * stats.bsize
  }
}
