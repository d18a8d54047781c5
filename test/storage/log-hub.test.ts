import { setTimeout as sleep } from 'node:timers/promises'
import { Redis } from 'ioredis'
import t, { type Test } from 'tap'
import { openLogWriter, readLogEvents, type LogEvent } from '../../src/storage/build-log.js'
import { redisKeys } from '../../src/storage/keys.js'
import { createLogHub } from '../../src/storage/log-hub.js'
import { testConfig } from '../helpers/config.js'
import { startRedisServer } from '../helpers/redis-server.js'

// The per-process log hub on real Redis: one blocking connection reads every followed stream and
// fans entries out; each follower still gets exactly the entries after its own cursor, in order.

const keep = (text: string) => text

async function setup (t: Test, target?: { redisUrl: string; prefix: string }) {
  const { redisUrl, prefix } = target ?? testConfig(t)
  const redis = new Redis(redisUrl)
  t.teardown(() => redis.quit())
  return { redis, keys: redisKeys(prefix) }
}

/** Every event, whether read one by one or in the batches a follow gives. */
async function collect (events: AsyncIterable<LogEvent | LogEvent[]>): Promise<LogEvent[]> {
  const all: LogEvent[] = []
  for await (const item of events) all.push(...(Array.isArray(item) ? item : [item]))
  return all
}

const ids = (events: LogEvent[]) => events.map((event) => event.id)

t.test('followers joining at any moment of a busy log each get every entry after their cursor, once, in order', async (t) => {
  const { redis, keys } = await setup(t)
  const hub = createLogHub({ redis, keys, isFinished: async () => false })
  t.teardown(() => hub.close())
  const log = await openLogWriter(redis, keys, 'B1', { maxBytes: 64 * 1024 * 1024, redact: keep })
  const followers: { after: string; events: Promise<LogEvent[]> }[] = []
  for (let i = 0; i < 3000; i++) {
    log.write('build', 'stdout', `line ${i}`)
    if (i % 100 === 0) {
      await log.flush()
      // Some start at the beginning, some at the newest entry, some in the middle.
      const written = await redis.xrange(keys.log('B1'), '-', '+')
      for (const after of ['0-0', written.at(-1)![0], written[Math.floor(written.length / 2)]![0]]) {
        followers.push({ after, events: collect(hub.follow('B1', after).events) })
      }
    }
    if (i % 7 === 0) await sleep(1)
  }
  log.status('succeeded', null)
  await log.close()
  const all = ids(await collect(readLogEvents(redis, keys, 'B1')))
  t.equal(all.length, 3001)
  for (const [n, follower] of followers.entries()) {
    const got = ids(await follower.events)
    t.same(got, all.slice(all.indexOf(follower.after) + 1), `follower ${n} (after ${follower.after}): everything after its cursor, once, in order`)
  }
})

t.test('a build that ended without a final status is noticed by one check per idle build, not one per follower', async (t) => {
  const { redis, keys } = await setup(t)
  let finished = false
  let checks = 0
  const hub = createLogHub({
    redis,
    keys,
    isFinished: async () => {
      checks += 1
      return finished
    }
  })
  t.teardown(() => hub.close())
  const log = await openLogWriter(redis, keys, 'B2', { maxBytes: 1024 * 1024, redact: keep })
  log.write('build', 'stdout', 'the last words of a worker that died')
  await log.close()
  const followers = Array.from({ length: 20 }, () => collect(hub.follow('B2', '0-0').events))
  await sleep(200)
  const atJoin = checks
  finished = true
  const started = Date.now()
  for (const events of await Promise.all(followers)) t.same(events.map((event) => event.kind === 'line' && event.text), ['the last words of a worker that died'])
  t.ok(Date.now() - started < 15_000, 'they end once the build has')
  t.ok(checks - atJoin <= 3, `the idle build was checked ${checks - atJoin} times for 20 followers`)
})

t.test('a follower that goes away is let go at once; the others go on', async (t) => {
  const { redis, keys } = await setup(t)
  const hub = createLogHub({ redis, keys, isFinished: async () => false })
  t.teardown(() => hub.close())
  const log = await openLogWriter(redis, keys, 'B3', { maxBytes: 1024 * 1024, redact: keep })
  const leaving = hub.follow('B3', '0-0')
  const staying = collect(hub.follow('B3', '0-0').events)
  const left: LogEvent[] = []
  const leftEnded = (async () => {
    for await (const batch of leaving.events) left.push(...batch)
  })()
  log.write('build', 'stdout', 'one')
  await log.flush()
  await sleep(100)
  leaving.stop()
  await t.rejects(leftEnded, /stopped/, 'a stopped follow ends, and not as a build that ended')
  t.same(left.map((event) => event.kind === 'line' && event.text), ['one'])
  log.write('build', 'stdout', 'two')
  log.status('failed', null)
  await log.close()
  t.same((await staying).map((event) => (event.kind === 'line' ? event.text : event.status)), ['one', 'two', 'failed'])
})

t.test('an already ended build is read to its end without waiting', async (t) => {
  const { redis, keys } = await setup(t)
  const hub = createLogHub({ redis, keys, isFinished: async () => true })
  t.teardown(() => hub.close())
  const log = await openLogWriter(redis, keys, 'B4', { maxBytes: 1024 * 1024, redact: keep })
  for (let i = 0; i < 2500; i++) log.write('build', 'stdout', `line ${i}`)
  await log.close()
  const started = Date.now()
  const events = await collect(hub.follow('B4', '0-0').events)
  t.equal(events.length, 2500)
  t.ok(Date.now() - started < 2000, 'no idle wait')
})

// A line of a build whose stream joined the hub while its read was blocked on another build's.
async function lateStreamDelay (t: Test, target: { redisUrl: string; prefix: string }): Promise<number> {
  const { redis, keys } = await setup(t, target)
  const hub = createLogHub({ redis, keys, isFinished: async () => false })
  t.teardown(() => hub.close())
  const quiet = hub.follow('QUIET', '0-0')
  t.teardown(() => quiet.stop())
  // The hub is now blocked reading QUIET alone.
  await sleep(300)
  const late = hub.follow('LATE', '0-0').events
  await sleep(50)
  const written = Date.now()
  await redis.xadd(keys.log('LATE'), '*', 'phase', 'build', 'stream', 'stdout', 'ts', String(written), 'text', 'hello')
  const first = await late.next()
  t.match(first.value, [{ kind: 'line', text: 'hello' }])
  await late.return(undefined)
  return Date.now() - written
}

t.test('a stream followed while the read blocks joins the next read at once (CLIENT UNBLOCK)', async (t) => {
  const delay = await lateStreamDelay(t, testConfig(t))
  t.ok(delay < 1000, `the late stream's first line arrived after ${delay} ms, not after the blocking read ran out`)
})

t.test('where CLIENT UNBLOCK is not allowed, a short blocking read takes its place', async (t) => {
  const server = await startRedisServer(t)
  const admin = new Redis(server.url)
  await admin.call('ACL', 'SETUSER', 'hub', 'on', '>hub-password', '~*', '&*', '+@all', '-client|unblock')
  admin.disconnect()
  const delay = await lateStreamDelay(t, { redisUrl: server.url.replace('redis://', 'redis://hub:hub-password@'), prefix: 'slipway-test-acl' })
  t.ok(delay < 1000, `the late stream's first line arrived after ${delay} ms`)
})
