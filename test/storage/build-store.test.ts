import { Redis } from 'ioredis'
import t, { type Test } from 'tap'
import { newBuildRecord } from '../../src/domain/builds/build-request.js'
import { createBuildStore } from '../../src/storage/build-store.js'
import { redisKeys } from '../../src/storage/keys.js'
import { testConfig } from '../helpers/config.js'
import { defaultRequest } from '../helpers/fixtures.js'

async function setup (t: Test) {
  const config = testConfig(t)
  const redis = new Redis(config.redisUrl)
  t.teardown(() => redis.quit())
  const keys = redisKeys(config.prefix)
  return { redis, keys, store: createBuildStore(redis, keys) }
}

t.test('a terminal state is final: later writers cannot move it', async (t) => {
  const { store, redis, keys } = await setup(t)
  await store.create(newBuildRecord('01J00000000000000000000001', defaultRequest('https://h/a'), new Date()))
  t.equal(await store.transition('01J00000000000000000000001', { from: ['queued', 'running'], to: 'running' }), true)
  t.equal(await store.transition('01J00000000000000000000001', { from: ['running'], to: 'succeeded', set: { durationMs: 5 } }), true)
  t.equal(
    await store.transition('01J00000000000000000000001', { from: ['running'], to: 'failed', set: { durationMs: 9 } }),
    false,
    'a second finisher (a redelivered job) is refused'
  )
  const build = await store.get('01J00000000000000000000001')
  t.equal(build?.status, 'succeeded')
  t.equal(build?.durationMs, 5)
  t.equal(await store.transition('01J0000000000000000000000X', { from: ['queued'], to: 'running' }), false, 'a missing build is not created')
  t.equal(await redis.exists(keys.build('01J0000000000000000000000X')), 0)
  t.same(await redis.zrange(keys.buildsByStatus('succeeded'), 0, -1), ['01J00000000000000000000001'], 'the status index follows')
  t.same(await redis.zrange(keys.buildsByStatus('queued'), 0, -1), [])
})

t.test('list pages by cursor, newest first, and filters by status and repository', async (t) => {
  const { store } = await setup(t)
  const ids = Array.from({ length: 7 }, (_, i) => `01J0000000000000000000000${i}`)
  for (const [i, id] of ids.entries()) {
    await store.create(newBuildRecord(id, defaultRequest(i % 2 ? 'https://h/odd' : 'git@h:even.git'), new Date()))
  }
  await store.transition(ids[3]!, { from: ['queued'], to: 'failed' })

  const page1 = await store.list({ limit: 3 })
  t.same(page1.items.map((b) => b.id), [ids[6], ids[5], ids[4]])
  const page2 = await store.list({ limit: 3, cursor: page1.nextCursor! })
  t.same(page2.items.map((b) => b.id), [ids[3], ids[2], ids[1]])
  const page3 = await store.list({ limit: 3, cursor: page2.nextCursor! })
  t.same(page3.items.map((b) => b.id), [ids[0]])
  t.equal(page3.nextCursor, null)

  const exact = await store.list({ limit: 7 })
  t.equal(exact.items.length, 7)
  t.equal(exact.nextCursor, null, 'a page that ends exactly at the end has no cursor')

  t.same((await store.list({ limit: 10, status: 'failed' })).items.map((b) => b.id), [ids[3]])
  t.same(
    (await store.list({ limit: 10, repo: 'ssh://git@h/even' })).items.map((b) => b.id),
    [ids[6], ids[4], ids[2], ids[0]],
    'scp-like and ssh:// forms name the same repository'
  )
  t.same((await store.list({ limit: 10, repo: 'https://h/odd', status: 'queued' })).items.map((b) => b.id), [ids[5], ids[1]])
})
