import { setTimeout as sleep } from 'node:timers/promises'
import { Redis } from 'ioredis'
import t from 'tap'
import { createFollowerLeases } from '../../src/storage/follower-leases.js'
import { redisKeys } from '../../src/storage/keys.js'
import type { Actor } from '../../src/domain/schemas/audit.js'
import { testConfig } from '../helpers/config.js'

// Leases on open log follows, as two API processes hold them on one Redis. Short times to live
// stand for the real 30 s.

const watcher: Actor = { kind: 'token', id: 'T1', name: 'watcher', deliveryId: null }

t.test("a live process's leases hold while it refreshes them; a dead one's expire and free the quota", async (t) => {
  const config = testConfig(t)
  const keys = redisKeys(config.prefix)
  const connect = () => {
    const redis = new Redis(config.redisUrl)
    t.teardown(() => redis.disconnect())
    return redis
  }
  const live = createFollowerLeases({ redis: connect(), keys, limit: 2, ttlMs: 300 })
  t.teardown(() => live.close())
  const doomedRedis = connect()
  const doomed = createFollowerLeases({ redis: doomedRedis, keys, limit: 2, ttlMs: 300 })
  const other = createFollowerLeases({ redis: connect(), keys, limit: 2, ttlMs: 300 })
  t.teardown(() => other.close())

  const release = await live.acquire(watcher)
  await live.acquire(watcher)
  await t.rejects(other.acquire(watcher), { code: 'QUOTA_EXCEEDED' }, 'the limit holds across processes')
  await sleep(1000)
  await t.rejects(other.acquire(watcher), { code: 'QUOTA_EXCEEDED' }, 'refreshed leases outlive their time to live')
  await release()
  await release()
  const mine = await other.acquire(watcher)
  t.pass('a released lease frees its place at once')
  await mine()

  // A process that dies holding leases: nothing releases or refreshes them.
  await live.close()
  await doomed.acquire(watcher)
  await doomed.acquire(watcher)
  doomedRedis.disconnect()
  await t.rejects(other.acquire(watcher), { code: 'QUOTA_EXCEEDED' })
  await sleep(400)
  await other.acquire(watcher)
  t.pass("the dead process's leases expired")
})
