import t from 'tap'
import { AGE_BANDS, ageBand, redisMemoryWarning } from '../../src/domain/storage-report.js'

const MiB = 1024 * 1024

t.test('Redis is warned of at 90% of its maxmemory, or when it may evict, and not otherwise', async (t) => {
  t.equal(redisMemoryWarning({ usedBytes: 500 * MiB, maxBytes: null, policy: 'noeviction' }), null, 'no maxmemory: nothing to be near')
  t.equal(redisMemoryWarning({ usedBytes: 89 * MiB, maxBytes: 100 * MiB, policy: 'noeviction' }), null, 'under 90%')
  t.match(redisMemoryWarning({ usedBytes: 90 * MiB, maxBytes: 100 * MiB, policy: 'noeviction' }), /90% of its maxmemory \(94.4 MB of 105 MB\).*SLIPWAY_RETENTION/, 'at 90%, with what to do')
  t.match(redisMemoryWarning({ usedBytes: 1 * MiB, maxBytes: 100 * MiB, policy: 'allkeys-lru' }), /maxmemory-policy is allkeys-lru.*noeviction/, 'an evicting policy, however empty')
  t.equal(redisMemoryWarning({ usedBytes: 1 * MiB, maxBytes: null, policy: 'unknown' }), null, 'a Redis that does not say its policy')
})

t.test('ages fall in one band each, the last open-ended', async (t) => {
  t.equal(ageBand(0), 0)
  t.equal(AGE_BANDS[ageBand(3_599_999)]!.label, 'under 1 hour')
  t.equal(AGE_BANDS[ageBand(3_600_000)]!.label, '1 hour to 1 day')
  t.equal(AGE_BANDS[ageBand(8 * 86_400_000)]!.label, '7 to 30 days')
  t.equal(AGE_BANDS[ageBand(10 * 365 * 86_400_000)]!.label, 'over 90 days')
})
