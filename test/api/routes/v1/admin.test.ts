import { Redis } from 'ioredis'
import t from 'tap'
import { ulid } from 'ulid'
import { newBuildRecord } from '../../../../src/domain/builds/build-request.js'
import { retentionPolicy } from '../../../../src/domain/retention.js'
import type { HostReport, StorageReport } from '../../../../src/domain/schemas/storage.js'
import { createRetentionSweeper } from '../../../../src/services/retention-sweeper.js'
import { createStorage } from '../../../../src/storage/storage.js'
import { buildApp } from '../../../helpers/app.js'
import { testConfig } from '../../../helpers/config.js'
import { defaultRequest } from '../../../helpers/fixtures.js'
import { startRedisServer } from '../../../helpers/redis-server.js'

// GET /v1/admin/storage on the real API and a real Redis, without a worker: builds stored as if
// made at different times, a host report as a worker publishes it, and a real sweep with its key count.

const DAY = 86_400_000
const silent = { info: () => {}, warn: () => {} }

const host = (worker: string): HostReport => ({
  worker,
  engine: { id: 'ENGINE:1', name: 'build-host-1' },
  reportedAt: new Date().toISOString(),
  imagesBytes: 3_000_000_000,
  buildCacheBytes: 2_000_000_000,
  freeBytes: 40_000_000_000,
  mirrorBytes: 120_000_000,
  mirrors: 4,
  paused: null
})

t.test('the storage report shows history by age, Redis, each live host and the last sweep; to admins only', async (t) => {
  const config = testConfig(t, { retention: '30d', logRetention: '7d', retentionKeepLast: 5 })
  const app = await buildApp(t, config)
  const redis = new Redis(config.redisUrl)
  t.teardown(() => redis.quit())
  const storage = createStorage(redis, config)

  const reader = (await app.inject({ method: 'POST', url: '/v1/tokens', payload: { name: 'reader', scopes: ['builds:read', 'builds:write', 'webhooks:admin', 'triggers:admin'] } })).json<{ token: string }>()
  const refused = await app.inject({ method: 'GET', url: '/v1/admin/storage', headers: { authorization: `Bearer ${reader.token}` } })
  t.equal(refused.statusCode, 403, 'every scope but admin is not enough')
  t.match(refused.json(), { code: 'FORBIDDEN' })

  for (const madeAgo of [0, 0, 2 * DAY, 10 * DAY]) {
    const id = ulid(Date.now() - madeAgo)
    await storage.builds.create(newBuildRecord(id, defaultRequest('https://git.example/app'), new Date()))
    const log = await storage.buildLogs.openWriter(id, { maxBytes: 1024, redact: (text) => text })
    log.write('', 'system', 'a line')
    await log.close()
  }
  await storage.hostReports.publish(host('host-a:1'), 60_000)
  await storage.hostReports.publish(host('host-b:2'), 1)
  await new Promise((resolve) => setTimeout(resolve, 20))
  const sweep = await createRetentionSweeper({ storage, policy: retentionPolicy(config), logger: silent }).sweepOnce()

  const response = await app.inject({ method: 'GET', url: '/v1/admin/storage' })
  t.equal(response.statusCode, 200)
  const report = response.json<StorageReport>()
  t.equal(report.history.builds, 4)
  t.same(report.history.byAge.map((band) => [band.age, band.builds, band.logs]), [
    ['under 1 hour', 2, 2],
    ['1 hour to 1 day', 0, 0],
    ['1 to 7 days', 1, 1],
    ['7 to 30 days', 1, 1],
    ['30 to 90 days', 0, 0],
    ['over 90 days', 0, 0]
  ], 'builds and their logs by when they were made')
  t.ok(report.redis.memory!.usedBytes > 0, 'Redis memory')
  t.equal(report.redis.memory!.warning, null, 'with nothing to warn of on this Redis')
  t.match(report.redis.keys, { build: 4, log: 4, host: 1, retention: Number }, 'keys by kind, as the sweep counted them')
  t.ok(report.redis.keysCountedAt, 'and when')
  t.same(report.hosts, [host('host-a:1')].map((expected) => ({ ...expected, reportedAt: report.hosts[0]?.reportedAt })), 'the live host; the one whose report lapsed is gone')
  t.same(report.retention, { retention: '30d', keepLast: 5, logRetention: '7d', auditRetention: config.auditRetention, lastSweep: sweep }, 'the settings and the last sweep')

  const metrics = (await app.inject({ method: 'GET', url: '/metrics' })).body
  t.match(metrics, /^slipway_redis_memory_used_bytes \d+/m, 'Redis memory is a metric')
  t.match(metrics, /^slipway_redis_keys\{kind="build"\} 4$/m, 'and the keys by kind')
})

t.test('near its maxmemory, or with a policy that evicts, Redis is warned of in /readyz, which stays ready', async (t) => {
  const redisServer = await startRedisServer(t)
  const app = await buildApp(t, testConfig(t, { redisUrl: redisServer.url, role: 'api' }))
  const redis = new Redis(redisServer.url)
  t.teardown(() => redis.quit())

  const calm = await app.inject({ method: 'GET', url: '/readyz' })
  t.same([calm.statusCode, calm.json().warnings], [200, []], 'no maxmemory: no warning')

  // Some 92% used: Redis's own use moves between this read and the API's (its clients' buffers),
  // so the limit leaves room, and 100% (over the limit since) words the same warning.
  const used = Number(/^used_memory:(\d+)/m.exec(await redis.info('memory'))![1])
  await redis.config('SET', 'maxmemory', String(Math.ceil(used * 1.08)))
  const near = await app.inject({ method: 'GET', url: '/readyz' })
  t.equal(near.statusCode, 200, 'still ready: nothing fails yet')
  t.match(near.json().warnings, [/Redis uses (9\d|100)% of its maxmemory.*SLIPWAY_RETENTION/])
  t.match((await app.inject({ method: 'GET', url: '/metrics' })).body, /^slipway_redis_memory_max_bytes \d+/m, 'maxmemory is a metric')

  await redis.config('SET', 'maxmemory', '0')
  await redis.config('SET', 'maxmemory-policy', 'allkeys-lru')
  t.match((await app.inject({ method: 'GET', url: '/readyz' })).json().warnings, [/maxmemory-policy is allkeys-lru/])
  const report = (await app.inject({ method: 'GET', url: '/v1/admin/storage' })).json<StorageReport>()
  t.match(report.redis.memory, { maxBytes: null, policy: 'allkeys-lru', warning: /drops keys/ }, 'the storage report says it too')
})
