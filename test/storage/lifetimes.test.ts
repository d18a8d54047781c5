import { Redis } from 'ioredis'
import t from 'tap'
import { ulid } from 'ulid'
import { newBuildRecord } from '../../src/domain/builds/build-request.js'
import { createStorage } from '../../src/storage/storage.js'
import { testConfig } from '../helpers/config.js'
import { defaultRequest } from '../helpers/fixtures.js'
import { keyPages } from '../helpers/redis-keys.js'

// Keys that expire by themselves were kept a day to 30 days whatever SLIPWAY_RETENTION said: with
// records kept minutes, they piled up (the soak bench found claims, dedupe keys and image scans
// growing with every build). None may outlive the records.

for (const [retention, atMost] of [['15m', 900], ['90d', 30 * 86_400]] as const) {
  t.test(`with SLIPWAY_RETENTION=${retention}, no key that expires by itself outlives ${atMost} s`, async (t) => {
    const config = testConfig(t, { retention })
    const redis = new Redis(config.redisUrl)
    t.teardown(() => redis.quit())
    const storage = createStorage(redis, config)
    const id = ulid()
    await storage.builds.create(newBuildRecord(id, defaultRequest('https://git.example/app'), new Date()), { claim: { request: 'request-fingerprint' } })
    await storage.builds.rememberReusable('build-fingerprint', id)
    await storage.idempotency.claim('tok1', 'key-1', 'body', id)
    await storage.imageScans.set('sha256:0123', { deleted: [] })
    await storage.cacheFacts.set('lineage-1', { buildId: id })
    const delivery = { provider: 'github' as const, id: 'delivery-1', signers: ['rule1'] }
    await storage.deliveryLedger.claim(delivery)
    await storage.deliveryLedger.complete(delivery, { rules: ['rule1'], builds: [{ id, ruleId: 'rule1' }] })
    await storage.reportComments.set({ provider: 'github', repo: 'acme/app', number: 7, context: 'slipway' }, { commentId: '1', buildId: id })

    const lifetimes: Record<string, number> = {}
    for await (const keys of keyPages(redis, `${config.prefix}:*`)) {
      for (const key of keys) {
        const ttl = await redis.ttl(key)
        if (ttl >= 0) lifetimes[key.slice(config.prefix.length + 1).split(':')[0]!] = ttl
      }
    }
    t.same(Object.keys(lifetimes).sort(), ['cachefacts', 'dedupe', 'idem', 'imagescan', 'inflight', 'reportcomment', 'triggerdelivery'], 'each kind that expires by itself was made')
    for (const [kind, ttl] of Object.entries(lifetimes)) t.ok(ttl <= atMost && ttl > 0, `${kind}: ${ttl} s`)
  })
}
