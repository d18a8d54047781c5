import { randomBytes } from 'node:crypto'
import { Redis } from 'ioredis'
import t from 'tap'
import { ulid } from 'ulid'
import { newBuildRecord } from '../../src/domain/builds/build-request.js'
import { AGE_BANDS } from '../../src/domain/storage-report.js'
import { createStorage } from '../../src/storage/storage.js'
import { testConfig } from '../helpers/config.js'
import { defaultRequest } from '../helpers/fixtures.js'
import { keyPages } from '../helpers/redis-keys.js'

const HOUR = 3_600_000

t.test("a census counts the installation's keys by kind, and its logs by their build's age", async (t) => {
  const config = testConfig(t)
  const redis = new Redis(config.redisUrl)
  t.teardown(() => redis.quit())
  const storage = createStorage(redis, config)
  const now = Date.now()
  // Two builds made now, one made two days ago; each with a log line.
  const ids = [ulid(now), ulid(now + 1), ulid(now - 48 * HOUR)]
  for (const [i, id] of ids.entries()) {
    await storage.builds.create(newBuildRecord(id, defaultRequest(`https://git.example/app${i}`), new Date()))
    const log = await storage.buildLogs.openWriter(id, { maxBytes: 1024, redact: (text) => text })
    log.write('', 'system', 'a line')
    await log.close()
  }

  const census = await storage.keyCensus.count(now)
  t.equal(census.keys.build, 3, 'three records')
  t.equal(census.keys.log, 3, 'three logs')
  t.ok(census.keys.index >= 4, `their index entries are indexes (${census.keys.index} keys)`)
  t.equal(census.keys.other, 0, 'every key has a kind')
  t.same(census.logsByAge, AGE_BANDS.map((band) => (band.label === 'under 1 hour' ? 2 : band.label === '1 to 7 days' ? 1 : 0)), 'logs by the age of their build')
  t.same(await storage.keyCensus.last(), census, 'kept for any process to read')
  let total = 0
  for await (const keys of keyPages(redis, `${config.prefix}:*`)) total += keys.length
  t.equal(Object.values(census.keys).reduce((sum, count) => sum + count, 0), total - 1, 'every key counted once (the census itself is written after)')
})

t.test("an installation whose prefix holds glob characters counts its own keys, not its neighbours'", async (t) => {
  const redis = new Redis(testConfig(t).redisUrl)
  t.teardown(() => redis.quit())
  // `slipway-?` as a SCAN pattern would match `slipway-a`, another installation on the same Redis.
  const tag = randomBytes(4).toString('hex')
  const own = `census-${tag}-?`
  const neighbour = `census-${tag}-a`
  t.teardown(async () => {
    for await (const keys of keyPages(redis, `census-${tag}-*`)) await redis.unlink(...keys)
  })
  for (const prefix of [own, neighbour]) await createStorage(redis, { prefix, retention: '90d' }).builds.create(newBuildRecord(ulid(), defaultRequest('https://git.example/app'), new Date()))
  const census = await createStorage(redis, { prefix: own, retention: '90d' }).keyCensus.count(Date.now())
  t.equal(census.keys.build, 1, "its one build, not the neighbour's too")
  t.equal(census.keys.other, 0, "and none of the neighbour's keys at all")
})

t.test("Redis's memory is read as INFO gives it", async (t) => {
  const redis = new Redis(testConfig(t).redisUrl)
  t.teardown(() => redis.quit())
  const storage = createStorage(redis, { prefix: 'unused', retention: '90d' })
  const memory = await storage.keyCensus.memory()
  const info = await redis.info('memory')
  t.ok(memory.usedBytes > 0 && info.includes('used_memory:'), `used (${memory.usedBytes} bytes)`)
  const [, max] = /^maxmemory:(\d+)/m.exec(info) ?? []
  t.equal(memory.maxBytes, Number(max) === 0 ? null : Number(max), 'no maxmemory is null')
  t.match(memory.policy, /^(noeviction|allkeys-|volatile-)/)
})
