import { Redis } from 'ioredis'
import t, { type Test } from 'tap'
import { newBuildRecord } from '../../src/domain/builds/build-request.js'
import { createBuildStore } from '../../src/storage/build-store.js'
import { decodeLogEntry } from '../../src/storage/build-log.js'
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

t.test('each change of status is in the log with it, once: a writer that dies or loses the reply right after cannot leave it out or add it twice', async (t) => {
  const { store, redis, keys } = await setup(t)
  const id = '01J00000000000000000000002'
  const statusEvents = async (buildId: string) =>
    (await redis.xrange(keys.log(buildId), '-', '+')).map(([entry, fields]) => decodeLogEntry(entry, fields)).flatMap((event) => (event.kind === 'status' ? [event.status] : []))
  await store.create(newBuildRecord(id, defaultRequest('https://h/a'), new Date()))
  await store.transition(id, { from: ['queued'], to: 'running', attempt: 0, set: { attempts: 1 } })
  await store.transition(id, { from: ['running'], to: 'running', set: { durationMs: 1 } })
  // The worker's last write. Nothing else is sent after it: a worker killed here, or a connection
  // cut before the next command, leaves exactly this.
  await store.transition(id, { from: ['running'], to: 'succeeded', attempt: 1 })
  t.same(await statusEvents(id), ['running', 'succeeded'], 'the start and the end are in the log; an update that changes no status is not')
  // A client that resends the script after a lost reply (ioredis does on reconnect).
  t.equal(await store.transition(id, { from: ['running'], to: 'succeeded', attempt: 1 }), false)
  t.same(await statusEvents(id), ['running', 'succeeded'], 'the terminal event is there once')
  const [event] = (await redis.xrevrange(keys.log(id), '+', '-', 'COUNT', 1)).map(([entry, fields]) => decodeLogEntry(entry, fields))
  t.match(event, { kind: 'status', status: 'succeeded', phase: null, ts: Number }, 'read as any status event is read')
  await store.transition('01J0000000000000000000000Y', { from: ['queued'], to: 'canceled' })
  t.equal(await redis.exists(keys.log('01J0000000000000000000000Y')), 0, 'no log is made for a build that does not exist')
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
