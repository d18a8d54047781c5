import type Docker from 'dockerode'
import type { Logger } from 'pino'
import type { HostReports } from '../src/storage/host-reports.js'
import type { EngineLookup } from './docker/engine-identity.js'

// Each worker says what its Docker host holds this often (GET /v1/admin/storage shows it); a
// report lapses after three missed ones, so a worker gone drops out of the list by itself.
const REPORT_INTERVAL_MS = 60_000

interface SystemDf {
  LayersSize?: number
  BuildCache?: { Size?: number }[] | null
}

/** Reports this worker's host to Redis now and every minute, until stopped. */
export function startHostReports (deps: {
  docker: Docker
  /** This worker process, as builds record it (host:pid), and its engine's id and name. */
  worker: string
  engine: EngineLookup
  reports: Pick<HostReports, 'publish'>
  logger: Logger
  mirrors: { usage(): Promise<{ count: number; bytes: number }> }
  hostSpace: { paused(): string | null; freeBytes(): Promise<number | null> }
  intervalMs?: number
}): { stop(): Promise<void> } {
  const { worker } = deps
  const intervalMs = deps.intervalMs ?? REPORT_INTERVAL_MS
  let reporting: Promise<void> | null = null

  const report = async (): Promise<void> => {
    const engine = await deps.engine()
    if (!engine) throw new Error('the Docker Engine could not be asked its id and name (docker info)')
    // Sizes the engine cannot give now are reported as unknown rather than holding the report back.
    const [df, freeBytes, mirrors] = await Promise.all([
      (deps.docker.df() as Promise<SystemDf>).catch(() => null),
      deps.hostSpace.freeBytes().catch(() => null),
      deps.mirrors.usage()
    ])
    await deps.reports.publish({
      worker,
      engine,
      reportedAt: new Date().toISOString(),
      imagesBytes: df?.LayersSize ?? null,
      buildCacheBytes: df ? (df.BuildCache ?? []).reduce((sum, record) => sum + (record.Size ?? 0), 0) : null,
      freeBytes,
      mirrorBytes: mirrors.bytes,
      mirrors: mirrors.count,
      paused: deps.hostSpace.paused()
    }, intervalMs * 3)
  }
  const tick = () => {
    reporting ??= report()
      .catch((error: unknown) => deps.logger.warn({ err: error }, 'could not report this host to Redis'))
      .finally(() => (reporting = null))
  }
  tick()
  const timer = setInterval(tick, intervalMs)
  return {
    async stop () {
      clearInterval(timer)
      await reporting
    }
  }
}
