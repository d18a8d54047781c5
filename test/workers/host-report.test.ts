import os from 'node:os'
import Docker from 'dockerode'
import { Redis } from 'ioredis'
import { pino } from 'pino'
import t from 'tap'
import { createStorage } from '../../src/storage/storage.js'
import { engineIdentity } from '../../workers/docker/engine-identity.js'
import { startHostReports } from '../../workers/host-report.js'
import { MirrorCache } from '../../workers/source/git-mirror.js'
import { testConfig } from '../helpers/config.js'

// A worker's report of its host, from the real Docker Engine, as GET /v1/admin/storage reads it back.
t.test('a worker reports its engine and what the engine holds, and drops out when it stops reporting', async (t) => {
  const config = testConfig(t)
  const redis = new Redis(config.redisUrl)
  t.teardown(() => redis.quit())
  const storage = createStorage(redis, config)
  const docker = new Docker()
  const info = (await docker.info()) as { ID: string; Name: string }
  const mirrors = new MirrorCache({ dir: t.testdir(), maxBytes: 1e9, holdMaxMs: 60_000 })
  const reports = startHostReports({
    docker,
    worker: `${os.hostname()}:${process.pid}`,
    engine: engineIdentity(docker),
    reports: { publish: (report, ttlMs) => storage.hostReports.publish(report, Math.min(ttlMs, 300)) },
    logger: pino({ level: 'silent' }),
    mirrors,
    hostSpace: { paused: () => 'short of disk', freeBytes: async () => 123_456 },
    intervalMs: 60_000
  })
  let live = await storage.hostReports.live()
  for (let i = 0; i < 100 && live.length === 0; i++) {
    await new Promise((resolve) => setTimeout(resolve, 20))
    live = await storage.hostReports.live()
  }
  await reports.stop()
  t.equal(live.length, 1, 'reported at once, not after the first interval')
  const [report] = live
  t.match(report, { worker: `${os.hostname()}:${process.pid}`, engine: { id: info.ID, name: info.Name }, freeBytes: 123_456, mirrors: 0, mirrorBytes: 0, paused: 'short of disk' })
  t.ok(report!.imagesBytes! > 0, `the engine's image bytes (${report!.imagesBytes})`)
  t.type(report!.buildCacheBytes, 'number', 'and its build cache bytes')
  await new Promise((resolve) => setTimeout(resolve, 350))
  t.same(await storage.hostReports.live(), [], 'a report not renewed lapses')
})
