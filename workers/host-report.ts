import os from 'node:os'
import type Docker from 'dockerode'
import type { Logger } from 'pino'
import type { HostReport } from '../src/domain/schemas/storage.js'
import type { HostReports } from '../src/storage/host-reports.js'

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
  reports: Pick<HostReports, 'publish'>
  logger: Logger
  mirrors: { usage(): Promise<{ count: number; bytes: number }> }
  hostSpace: { paused(): string | null; freeBytes(): Promise<number | null> }
  intervalMs?: number
}): { stop(): Promise<void> } {
  const worker = `${os.hostname()}:${process.pid}`
  const intervalMs = deps.intervalMs ?? REPORT_INTERVAL_MS
  let engine: HostReport['engine'] | null = null
  let reporting: Promise<void> | null = null

  const report = async (): Promise<void> => {
    if (!engine) {
      const info = (await deps.docker.info()) as { ID?: string; Name?: string }
      engine = { id: info.ID ?? 'unknown', name: info.Name ?? 'unknown' }
    }
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
