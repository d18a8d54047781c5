import { Redis } from 'ioredis'
import t, { type Test } from 'tap'
import { ulid } from 'ulid'
import { newBuildRecord } from '../../src/domain/builds/build-request.js'
import type { Config } from '../../src/domain/config.js'
import { retentionPolicy } from '../../src/domain/retention.js'
import type { BuildStatus } from '../../src/domain/schemas/build.js'
import { createRetentionSweeper, sweepInterval, type SweeperOptions } from '../../src/services/retention-sweeper.js'
import { redisKeys } from '../../src/storage/keys.js'
import { createStorage, type Storage } from '../../src/storage/storage.js'
import { buildApp } from '../helpers/app.js'
import { testConfig } from '../helpers/config.js'
import { defaultRequest } from '../helpers/fixtures.js'
import { keyPages } from '../helpers/redis-keys.js'

// The retention sweeper against a real Redis, with durations in minutes: builds are stored as if
// made and ended in the past (their ids made at that time too), then one sweep is run.

const MINUTE = 60_000
const silent = { info: () => {}, warn: () => {} }

function setup (t: Test, overrides: Partial<Config> = {}) {
  const config = testConfig(t, { retention: '60m', logRetention: '15m', retentionKeepLast: 2, ...overrides })
  const connect = () => {
    const redis = new Redis(config.redisUrl)
    t.teardown(() => redis.quit())
    return createStorage(redis, config)
  }
  const storage = connect()
  const sweeper = (options: SweeperOptions = {}, own = storage) =>
    createRetentionSweeper({ storage: own, policy: retentionPolicy(config), logger: silent, ...options })
  return { config, storage, connect, sweeper, keys: redisKeys(config.prefix) }
}

/** A build made `madeAgo` ms ago, of `repo` at `ref`, that ended `endedAgo` ms ago in `status` (or is still in it), with a line of log. */
async function stored (storage: Storage, spec: { repo?: string | null; ref?: string | null; madeAgo: number; endedAgo?: number; status?: BuildStatus }): Promise<string> {
  const made = Date.now() - spec.madeAgo
  const id = ulid(made)
  // repo null: a build of an uploaded source, which has no repository (nor ref).
  const request = spec.repo === null ? { ...defaultRequest('upload'), repo: null, ref: null } : { ...defaultRequest(spec.repo ?? 'https://git.example/app'), ref: spec.ref ?? 'main' }
  await storage.builds.create(newBuildRecord(id, request, new Date(made), { kind: 'token', id: 'tok1', name: 'ci', deliveryId: null }))
  const log = await storage.buildLogs.openWriter(id, { maxBytes: 1024, redact: (text) => text })
  log.write('', 'system', 'a line of log')
  await log.close()
  const status = spec.status ?? 'succeeded'
  if (status !== 'queued') {
    const finishedAt = spec.endedAgo === undefined ? null : new Date(Date.now() - spec.endedAgo).toISOString()
    await storage.builds.transition(id, { from: ['queued'], to: status, set: { startedAt: new Date(made).toISOString(), finishedAt } })
  }
  return id
}

/** Every member of every build index, and the ids whose record is gone. */
async function danglingIndexEntries (redis: Redis, config: Config): Promise<{ members: number; dangling: string[] }> {
  const keys = redisKeys(config.prefix)
  let members = 0
  const dangling: string[] = []
  for await (const page of keyPages(redis, `${config.prefix}:idx:*`)) {
    for (const index of page) {
      if (index.endsWith(':idx:tokens') || index.includes(':idx:webhooks') || index.includes(':idx:triggers')) continue
      for (const id of await redis.zrange(index, 0, -1)) {
        members++
        if (!(await redis.exists(keys.build(id)))) dangling.push(`${index} ${id}`)
      }
    }
  }
  for await (const page of keyPages(redis, `${config.prefix}:quota:builds:*`)) {
    for (const set of page) {
      for (const id of await redis.smembers(set)) if (!(await redis.exists(keys.build(id)))) dangling.push(`${set} ${id}`)
    }
  }
  return { members, dangling }
}

t.test('ended builds past SLIPWAY_RETENTION go, the newest of each repository and ref stay, queued and running ones never go', async (t) => {
  const { config, storage, sweeper } = setup(t)
  const app = await buildApp(t, config)
  // Five builds of main that ended two hours ago: the newest two stay (SLIPWAY_RETENTION_KEEP_LAST=2).
  const main: string[] = []
  for (let i = 0; i < 5; i++) main.push(await stored(storage, { madeAgo: (200 - i) * MINUTE, endedAgo: (150 - i) * MINUTE, status: i === 1 ? 'failed' : 'succeeded' }))
  // Newer builds of main that keep their records: one whose log is past SLIPWAY_LOG_RETENTION, one recent.
  const logGone = await stored(storage, { madeAgo: 40 * MINUTE, endedAgo: 30 * MINUTE })
  const recent = await stored(storage, { madeAgo: 6 * MINUTE, endedAgo: 5 * MINUTE })
  // Another ref of the same repository has its own newest two.
  const dev = await stored(storage, { ref: 'dev', madeAgo: 300 * MINUTE, endedAgo: 290 * MINUTE })
  // Never removed, however old.
  const running = await stored(storage, { madeAgo: 500 * MINUTE, status: 'running' })
  const queued = await stored(storage, { madeAgo: 400 * MINUTE, status: 'queued' })

  const report = await sweeper().sweepOnce()
  t.ok(report)
  t.equal(report!.removed.builds, 5, 'the five old builds of main go: the newest two of main are the two recent ones')
  t.equal(report!.removed.logs, 2, 'logs go by age alone: the one of 30 minutes ago, and the old one of dev, whose record is kept')
  for (const id of main) t.equal(await storage.builds.get(id), null, `${id} is gone`)
  for (const id of [logGone, recent, dev, running, queued]) t.ok(await storage.builds.get(id), `${id} is kept`)

  // GET of an expired build: 410 BUILD_EXPIRED, saying when and which settings decide it.
  const expired = await app.inject({ method: 'GET', url: `/v1/builds/${main[0]}` })
  t.equal(expired.statusCode, 410)
  t.equal(expired.json().code, 'BUILD_EXPIRED')
  t.match(expired.json().message, /SLIPWAY_RETENTION \(60m\)/)
  t.match(expired.json().message, /newest 2 of each repository and ref \(SLIPWAY_RETENTION_KEEP_LAST\)/)
  t.match(expired.json().message, new RegExp(new Date().toISOString().slice(0, 10)))
  t.equal((await app.inject({ method: 'GET', url: `/v1/builds/${main[0]}/logs` })).json().code, 'BUILD_EXPIRED')
  t.equal((await app.inject({ method: 'POST', url: `/v1/builds/${main[0]}/retry` })).json().code, 'BUILD_EXPIRED')
  t.equal((await app.inject({ method: 'GET', url: `/v1/builds/${ulid()}` })).statusCode, 404, 'an id never seen is still 404')

  // A build whose log expired says so, and its log answers 410 LOG_EXPIRED.
  const kept = await app.inject({ method: 'GET', url: `/v1/builds/${logGone}` })
  t.equal(kept.statusCode, 200)
  t.type(kept.json().logExpiredAt, 'string')
  t.equal((await app.inject({ method: 'GET', url: `/v1/builds/${recent}` })).json().logExpiredAt, null)
  const log = await app.inject({ method: 'GET', url: `/v1/builds/${logGone}/logs` })
  t.equal(log.statusCode, 410)
  t.equal(log.json().code, 'LOG_EXPIRED')
  t.match(log.json().message, /SLIPWAY_LOG_RETENTION \(15m\)/)
  t.equal((await app.inject({ method: 'GET', url: `/v1/builds/${recent}/logs` })).statusCode, 200)

  // Lists skip them, and no index names a build that is gone.
  const listed = (await app.inject({ method: 'GET', url: '/v1/builds?limit=100' })).json().items.map((build: { id: string }) => build.id)
  t.same(listed.sort(), [logGone, recent, dev, running, queued].sort())
  const ofRepo = (await app.inject({ method: 'GET', url: '/v1/builds?repo=https://git.example/app&status=succeeded' })).json().items
  t.same(ofRepo.map((build: { id: string }) => build.id), [recent, logGone, dev])
  t.same((await danglingIndexEntries(storage.connection, config)).dangling, [])

  // The next sweep finds nothing more to do, and the report is kept for whoever asks.
  const again = await sweeper().sweepOnce()
  t.same(again!.removed, { builds: 0, logs: 0, deliveries: 0, tombstones: 0, auditEntries: 0 })
  // The kept old builds (dev, running, queued) are looked at again; the build whose log went is not.
  t.equal(report!.scanned, 9)
  t.equal(again!.scanned, 3)
  t.same(await storage.retention.lastReport(), again)
})

t.test('the newest of a ref stay whatever their age, and a build older than the index keeps the rule', async (t) => {
  const { storage, keys, sweeper } = setup(t, { retentionKeepLast: 3 })
  const ids: string[] = []
  for (let i = 0; i < 6; i++) ids.push(await stored(storage, { madeAgo: (1000 - i) * MINUTE, endedAgo: (900 - i) * MINUTE }))
  // Stored before Slipway kept the index of a repository's ref: the sweeper adds them as it meets them.
  const legacy = ids.slice(0, 4)
  await storage.connection.zrem(keys.buildsByRef('main', 'git.example/app'), ...legacy)
  t.same(await storage.connection.zrange(keys.buildsByRef('main', 'git.example/app'), 0, -1), ids.slice(4))
  const left = async () => {
    const found = []
    for (const id of ids) if (await storage.builds.get(id)) found.push(id)
    return found
  }
  // Batches of two: the newest legacy build is not yet indexed when the oldest are looked at, so
  // the first sweep keeps more than three, never fewer; the next finds them all indexed.
  await sweeper({ batchSize: 2 }).sweepOnce()
  t.ok((await left()).length >= 3)
  t.same((await left()).slice(-3), ids.slice(3))
  await sweeper({ batchSize: 2 }).sweepOnce()
  t.same(await left(), ids.slice(3), 'the newest three stay, however old')
  t.same(await storage.connection.zrange(keys.buildsByRef('main', 'git.example/app'), 0, -1), ids.slice(3))
})

t.test('SLIPWAY_RETENTION_KEEP_LAST=0 keeps nothing by count; builds of uploads expire by age alone', async (t) => {
  const { storage, sweeper } = setup(t, { retentionKeepLast: 0, logRetention: '' })
  const old = await stored(storage, { madeAgo: 70 * MINUTE, endedAgo: 61 * MINUTE })
  const young = await stored(storage, { madeAgo: 70 * MINUTE, endedAgo: 59 * MINUTE, status: 'canceled' })
  const upload = await stored(storage, { repo: null, madeAgo: 70 * MINUTE, endedAgo: 61 * MINUTE, status: 'failed' })
  const report = await sweeper().sweepOnce()
  t.equal(report!.removed.builds, 2)
  t.equal(await storage.builds.get(upload), null, 'a build of an upload goes by age')
  t.equal(report!.removed.logs, 0, 'without SLIPWAY_LOG_RETENTION a log goes with its build')
  t.equal(await storage.builds.get(old), null)
  t.ok(await storage.builds.get(young), 'ended 59 minutes ago: kept another minute')
})

t.test('batches are bounded: a sweep stops after its most batches, and the next carries on', async (t) => {
  const { storage, sweeper } = setup(t, { retentionKeepLast: 0 })
  for (let i = 0; i < 25; i++) await stored(storage, { repo: `https://git.example/r${i}`, madeAgo: (300 - i) * MINUTE, endedAgo: 200 * MINUTE })
  const first = await sweeper({ batchSize: 10, maxBatches: 2 }).sweepOnce()
  t.equal(first!.batches, 2)
  t.equal(first!.scanned, 20)
  t.equal(first!.removed.builds, 20)
  t.equal(first!.incomplete, true)
  const second = await sweeper({ batchSize: 10, maxBatches: 2 }).sweepOnce()
  t.equal(second!.removed.builds, 5)
  t.equal(second!.incomplete, false)
})

t.test('sweepers in many processes: one sweeps at a time, none removes a build twice, no index names a gone build', async (t) => {
  const { config, storage, connect, sweeper } = setup(t, { retentionKeepLast: 5 })
  const repos = ['https://git.example/a', 'https://git.example/b', 'https://git.example/c']
  const refs = ['main', 'dev']
  let count = 0
  for (let i = 0; i < 240; i++) {
    await stored(storage, { repo: repos[i % 3], ref: refs[i % 2], madeAgo: (1000 - i) * MINUTE, endedAgo: (999 - i) * MINUTE, status: i % 7 === 0 ? 'failed' : 'succeeded' })
    count++
  }
  const kept = repos.length * refs.length * 5
  const sweepers = [sweeper({ batchSize: 7 }, connect()), sweeper({ batchSize: 7 }, connect()), sweeper({ batchSize: 7 }, connect())]
  let removed = 0
  let skipped = 0
  for (let round = 0; round < 3; round++) {
    const reports = await Promise.all(sweepers.map((one) => one.sweepOnce()))
    for (const report of reports) {
      if (report === null) skipped++
      else removed += report.removed.builds
    }
  }
  t.ok(skipped > 0, 'a sweeper that finds the lock held leaves the sweep to its holder')
  t.equal(removed, count - kept, 'every expired build counted once')
  t.equal(await storage.connection.zcard(redisKeys(config.prefix).expiredBuilds), count - kept)
  const { members, dangling } = await danglingIndexEntries(storage.connection, config)
  t.same(dangling, [])
  t.ok(members >= kept)
})

t.test('removal is safe without the lock too: two removals of the same builds at once remove each once', async (t) => {
  const { config, storage, connect } = setup(t, { retentionKeepLast: 0 })
  for (let i = 0; i < 60; i++) await stored(storage, { repo: `https://git.example/r${i % 4}`, madeAgo: (300 - i) * MINUTE, endedAgo: 200 * MINUTE })
  const [one, two] = [connect(), connect()]
  const candidates = await storage.builds.oldest(Date.now(), undefined, 100)
  const results = await Promise.all([
    Promise.all(candidates.map((build) => one.builds.expire(build, Date.now()))),
    Promise.all(candidates.map((build) => two.builds.expire(build, Date.now())))
  ])
  t.equal(results.flat().filter(Boolean).length, 60)
  t.same((await danglingIndexEntries(storage.connection, config)).dangling, [])
})

t.test('a running build is never removed, even when asked directly', async (t) => {
  const { storage } = setup(t)
  const id = await stored(storage, { madeAgo: 1000 * MINUTE, status: 'running' })
  const [candidate] = await storage.builds.oldest(Date.now(), undefined, 10)
  t.equal(await storage.builds.expire(candidate!, Date.now()), false)
  t.equal(await storage.buildLogs.expire(id, new Date()), false)
  t.ok(await storage.builds.get(id))
})

t.test('tombstones are kept as long again as the builds were, then GET answers 404', async (t) => {
  const { config, storage, sweeper } = setup(t, { retentionKeepLast: 0 })
  const app = await buildApp(t, config)
  const id = await stored(storage, { madeAgo: 300 * MINUTE, endedAgo: 200 * MINUTE })
  await sweeper().sweepOnce()
  t.equal((await app.inject({ method: 'GET', url: `/v1/builds/${id}` })).statusCode, 410)
  const later = await sweeper({ clock: () => Date.now() + 61 * MINUTE }).sweepOnce()
  t.equal(later!.removed.tombstones, 1)
  t.equal((await app.inject({ method: 'GET', url: `/v1/builds/${id}` })).statusCode, 404)
})

t.test('audit entries older than SLIPWAY_AUDIT_RETENTION are trimmed, from every stream', async (t) => {
  const { storage, sweeper } = setup(t, { auditRetention: '30m' })
  const actor = { kind: 'token' as const, id: 'tok1', name: 'ci', deliveryId: null }
  for (let i = 0; i < 3; i++) await storage.audit.record({ actor, action: 'build.create', kind: 'build', resourceId: `b${i}`, summary: 'x' })
  t.equal((await sweeper().sweepOnce())!.removed.auditEntries, 0, 'entries younger than 30 minutes stay')
  const later = await sweeper({ clock: () => Date.now() + 31 * MINUTE }).sweepOnce()
  t.equal(later!.removed.auditEntries, 9, 'three entries, each in the trail and its actor\'s and kind\'s streams')
  t.same((await storage.audit.list({ limit: 10 })).items, [])
  t.same((await storage.audit.list({ limit: 10, actor: 'tok1' })).items, [])
})

t.test("a removed build's deliveries go with it, from its subscription's list too; other builds' stay", async (t) => {
  const { config, storage, keys, sweeper } = setup(t, { retentionKeepLast: 0 })
  const old = await stored(storage, { madeAgo: 300 * MINUTE, endedAgo: 200 * MINUTE })
  const young = await stored(storage, { madeAgo: 10 * MINUTE, endedAgo: 5 * MINUTE })
  const delivery = (id: string, buildId: string, webhookId: string | null) => ({
    id,
    webhookId,
    buildId,
    event: 'build.succeeded' as const,
    sequence: 1,
    url: 'https://hooks.example/x',
    status: 'delivered' as const,
    createdAt: new Date().toISOString(),
    attempts: [],
    target: webhookId ? { kind: 'webhook' as const, webhookId } : { kind: 'build' as const, index: 0 },
    format: 'json' as const,
    body: '{}'
  })
  await storage.deliveries.create(delivery(ulid(), old, 'wh1'))
  await storage.deliveries.create(delivery(ulid(), old, null))
  const kept = ulid()
  await storage.deliveries.create(delivery(kept, young, 'wh1'))
  await storage.builds.saveWebhooks(old, [{ url: 'https://hooks.example/x', events: ['build.succeeded'], format: 'json', secret: 's' }])

  const report = await sweeper().sweepOnce()
  t.equal(report!.removed.builds, 1)
  t.equal(report!.removed.deliveries, 2)
  t.same((await storage.deliveries.listForWebhook('wh1', undefined, 10)).items.map((d) => d.id), [kept])
  t.same(await storage.connection.zrange(keys.webhookDeliveries('wh1'), 0, -1), [kept], "the subscription's list names only deliveries that are there")
  t.equal(await storage.connection.exists(keys.buildWebhooks(old), keys.buildDeliveries(old), keys.log(old)), 0, "the build's keys go with it")
  t.same((await danglingIndexEntries(storage.connection, config)).dangling, [])
})

t.test('a request identical to a removed build makes a new one at once; a replayed Idempotency-Key says the build expired', async (t) => {
  const { config, storage, sweeper } = setup(t, { retentionKeepLast: 0 })
  const app = await buildApp(t, config)
  const request = { repo: 'https://git.example.com/team/app.git', ref: 'main' }
  const first = await app.inject({ method: 'POST', url: '/v1/builds', headers: { 'idempotency-key': 'k-1' }, payload: request })
  t.equal(first.statusCode, 202)
  const id = first.json<{ id: string }>().id
  await storage.builds.transition(id, { from: ['queued'], to: 'succeeded', set: { finishedAt: new Date().toISOString() } })
  // Two hours on, with SLIPWAY_RETENTION=60m.
  t.equal((await sweeper({ clock: () => Date.now() + 120 * MINUTE }).sweepOnce())!.removed.builds, 1)

  const started = Date.now()
  const again = await app.inject({ method: 'POST', url: '/v1/builds', payload: request })
  t.equal(again.statusCode, 202)
  t.not(again.json<{ id: string }>().id, id, 'a new build: the claim named a build that is gone')
  t.ok(Date.now() - started < 2000, 'without waiting for the removed build to appear')

  const replay = await app.inject({ method: 'POST', url: '/v1/builds', headers: { 'idempotency-key': 'k-1' }, payload: request })
  t.equal(replay.statusCode, 410)
  t.equal(replay.json().code, 'BUILD_EXPIRED')
})

t.test('builds of commits (as CI and retries name them) share one group per repository, so they still expire', async (t) => {
  const { storage, sweeper } = setup(t, { retentionKeepLast: 2 })
  const ids: string[] = []
  for (let i = 0; i < 5; i++) {
    const commit = `${i}`.repeat(40)
    ids.push(await stored(storage, { ref: commit, madeAgo: (300 - i) * MINUTE, endedAgo: (200 - i) * MINUTE }))
  }
  const branch = await stored(storage, { ref: 'main', madeAgo: 400 * MINUTE, endedAgo: 390 * MINUTE })
  t.equal((await sweeper().sweepOnce())!.removed.builds, 3)
  const left: string[] = []
  for (const id of [...ids, branch]) if (await storage.builds.get(id)) left.push(id)
  t.same(left, [...ids.slice(3), branch], 'the newest two builds of commits, and the newest of main')
})

t.test('the walk of logs starts after the builds already settled, and never passes one still running', async (t) => {
  const { storage, sweeper } = setup(t, { retention: '600m', logRetention: '15m', retentionKeepLast: 0 })
  const first = await stored(storage, { madeAgo: 100 * MINUTE, endedAgo: 90 * MINUTE })
  const running = await stored(storage, { madeAgo: 90 * MINUTE, status: 'running' })
  const second = await stored(storage, { madeAgo: 80 * MINUTE, endedAgo: 70 * MINUTE })
  const report = await sweeper().sweepOnce()
  t.equal(report!.removed.logs, 2)
  t.equal(report!.scanned, 3)
  t.equal(await storage.retention.logCursor(), first, 'up to the running build')
  // It ends; the next sweep starts after the first, and takes its log.
  await storage.builds.transition(running, { from: ['running'], to: 'failed', set: { finishedAt: new Date(Date.now() - 20 * MINUTE).toISOString() } })
  const next = await sweeper().sweepOnce()
  t.equal(next!.scanned, 2)
  t.equal(next!.removed.logs, 1)
  t.equal(await storage.retention.logCursor(), second)
  t.equal((await sweeper().sweepOnce())!.scanned, 0)
  for (const id of [first, running, second]) t.type((await storage.builds.get(id))?.logExpiredAt, 'string')
})

t.test('a record stored before Slipway noted expired logs answers logExpiredAt null, and its log still reads', async (t) => {
  const { config, storage, keys } = setup(t)
  const app = await buildApp(t, config)
  const id = await stored(storage, { madeAgo: MINUTE, endedAgo: MINUTE / 2 })
  await storage.connection.hdel(keys.build(id), 'logExpiredAt')
  const build = await app.inject({ method: 'GET', url: `/v1/builds/${id}` })
  t.equal(build.statusCode, 200, build.body)
  t.equal(build.json().logExpiredAt, null)
  t.equal((await app.inject({ method: 'GET', url: `/v1/builds/${id}/logs` })).statusCode, 200)
  // And the sweeper takes its log when due, as any other's.
  t.equal(await storage.buildLogs.expire(id, new Date()), true)
  t.equal((await app.inject({ method: 'GET', url: `/v1/builds/${id}/logs` })).json().code, 'LOG_EXPIRED')
})

t.test('sweeps come once a minute, or ten times per retention period when records are kept minutes', async (t) => {
  const every = (retention: string) => sweepInterval(retentionPolicy({ retention, logRetention: '', retentionKeepLast: 0, auditRetention: '365d' }))
  t.equal(every('90d'), 60_000)
  t.equal(every('10m'), 60_000)
  t.equal(every('3m'), 18_000, 'a build under 3m is removed at most 18 s late, not a minute')
  t.equal(every('1m'), 6_000)
})
