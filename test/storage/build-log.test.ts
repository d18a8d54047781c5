import { Redis } from 'ioredis'
import t, { type Test } from 'tap'
import { openLogWriter, readLogEvents, tailStart, type LogEvent } from '../../src/storage/build-log.js'
import { redisKeys } from '../../src/storage/keys.js'
import { createLogHub } from '../../src/storage/log-hub.js'
import { testConfig } from '../helpers/config.js'

const keep = (text: string) => text

async function setup (t: Test) {
  const config = testConfig(t)
  const redis = new Redis(config.redisUrl)
  t.teardown(() => redis.quit())
  return { redis, keys: redisKeys(config.prefix), redisUrl: config.redisUrl }
}

/** Every event, whether read one by one or in the batches a follow gives. */
async function collect (events: AsyncIterable<LogEvent | LogEvent[]>): Promise<LogEvent[]> {
  const all: LogEvent[] = []
  for await (const item of events) all.push(...(Array.isArray(item) ? item : [item]))
  return all
}

const texts = (events: LogEvent[]) => events.flatMap((event) => (event.kind === 'line' ? [event.text] : []))

t.test('lines and status events are kept in order, and read back in batches', async (t) => {
  const { redis, keys } = await setup(t)
  const log = await openLogWriter(redis, keys, 'B1', { maxBytes: 1024 * 1024, redact: keep })
  log.status('running', 'build')
  for (let i = 0; i < 2500; i++) log.write('build', i % 2 ? 'stderr' : 'stdout', `line ${i}`)
  log.status('succeeded', null)
  await log.close()
  const events = await collect(readLogEvents(redis, keys, 'B1'))
  t.equal(events.length, 2502)
  t.match(events[0], { kind: 'status', status: 'running', phase: 'build' })
  t.match(events[1], { kind: 'line', phase: 'build', stream: 'stdout', text: 'line 0' })
  t.match(events[2], { kind: 'line', stream: 'stderr', text: 'line 1' })
  t.match(events[2501], { kind: 'status', status: 'succeeded', phase: null })
  t.same(texts(await collect(readLogEvents(redis, keys, 'B1', events[2498]!.id))), ['line 2498', 'line 2499'], 'reading resumes after an id')
})

t.test('batched: every entry once and in order, however the writes fall into batches, one command per batch', async (t) => {
  const { redis, keys } = await setup(t)
  const log = await openLogWriter(redis, keys, 'B7', { maxBytes: 1024 * 1024, redact: keep })
  // The script is sent once per connection; count what comes after it.
  log.write('clone', 'system', 'first')
  await log.flush()
  const sent: string[] = []
  const sendCommand = redis.sendCommand.bind(redis)
  redis.sendCommand = (command, stream) => {
    sent.push(command.name)
    return sendCommand(command, stream)
  }
  const written: string[] = ['first']
  // 1000 lines at once make five full batches of 200.
  for (let i = 0; i < 1000; i++) written.push(`burst ${i}`)
  for (const text of written.slice(1)) log.write('build', 'stdout', text)
  await log.flush()
  t.same(sent, ['evalsha', 'evalsha', 'evalsha', 'evalsha', 'evalsha'], 'a full batch is one command')
  // Then a trickle across the flush timer, with status events between the lines and lines written
  // while earlier batches are still on their way.
  for (let i = 0; i < 30; i++) {
    log.write('build', i % 2 ? 'stderr' : 'stdout', `trickle ${i}`)
    written.push(`trickle ${i}`)
    if (i % 10 === 0) log.status('running', `phase ${i}`)
    if (i % 7 === 0) await new Promise((resolve) => setTimeout(resolve, 25))
  }
  log.status('succeeded', null)
  await log.close()
  const events = await collect(readLogEvents(redis, keys, 'B7'))
  t.same(texts(events), written, 'every line, in order')
  t.same(
    events.filter((event) => event.kind === 'status').map((event) => event.kind === 'status' && event.phase),
    ['phase 0', 'phase 10', 'phase 20', null],
    'every status event'
  )
  t.match(events.at(-1), { kind: 'status', status: 'succeeded' }, 'the last entry written is the last one stored')
  const before = events.findIndex((event) => event.kind === 'status' && event.phase === 'phase 10')
  t.same(events[before - 1], { ...events[before - 1], text: 'trickle 10' }, 'a status event keeps its place among the lines')
  t.ok(sent.length < 5 + 30, `a trickle is batched too (${sent.length} commands)`)
  t.equal(Number(await redis.hget(keys.build('B7'), 'logBytes')), written.reduce((sum, text) => sum + Buffer.byteLength(text) + 1, 0), 'the bytes kept are counted')
})

t.test('past the byte limit lines are counted, not kept, and the count holds across writers', async (t) => {
  const { redis, keys } = await setup(t)
  // Ten 99-character lines take 1000 bytes with their newlines.
  const line = 'x'.repeat(99)
  const first = await openLogWriter(redis, keys, 'B2', { maxBytes: 1500, redact: keep })
  for (let i = 0; i < 10; i++) first.write('build', 'stdout', line)
  await first.close()
  const second = await openLogWriter(redis, keys, 'B2', { maxBytes: 1500, redact: keep })
  for (let i = 0; i < 10; i++) second.write('build', 'stdout', line)
  second.status('failed', null)
  await second.close()
  const events = await collect(readLogEvents(redis, keys, 'B2'))
  const lines = texts(events)
  t.equal(lines.filter((text) => text === line).length, 15, 'a second attempt continues from the bytes already kept')
  t.match(lines.at(-2), /reached its limit of 1500 bytes/)
  t.equal(lines.at(-1), '[slipway] 500 bytes in 5 lines were dropped past the log limit.')
  t.ok(events.some((event) => event.kind === 'status' && event.status === 'failed'), 'status events are never dropped')
})

t.test('every line passes the redactor before it is stored', async (t) => {
  const { redis, keys } = await setup(t)
  const log = await openLogWriter(redis, keys, 'B3', { maxBytes: 1024 * 1024, redact: (text) => text.replaceAll('hunter2', '***') })
  log.write('push', 'stdout', 'logging in with hunter2')
  await log.close()
  const stored = await redis.xrange(keys.log('B3'), '-', '+')
  t.notMatch(JSON.stringify(stored), /hunter2/)
  t.same(texts(await collect(readLogEvents(redis, keys, 'B3'))), ['logging in with ***'])
})

t.test('tailStart: reading after it gives the last N lines', async (t) => {
  const { redis, keys } = await setup(t)
  const log = await openLogWriter(redis, keys, 'B4', { maxBytes: 1024 * 1024, redact: keep })
  for (let i = 0; i < 1500; i++) {
    log.write('build', 'stdout', `line ${i}`)
    if (i % 100 === 0) log.status('running', 'build')
  }
  await log.close()
  t.same(texts(await collect(readLogEvents(redis, keys, 'B4', await tailStart(redis, keys, 'B4', 3)))), ['line 1497', 'line 1498', 'line 1499'])
  t.equal(texts(await collect(readLogEvents(redis, keys, 'B4', await tailStart(redis, keys, 'B4', 1200)))).length, 1200)
  t.equal(await tailStart(redis, keys, 'B4', 5000), '0-0', 'asking for more lines than there are gives them all')
})

t.test('following: every entry once, in order, live, ending with the terminal status', async (t) => {
  const { redis, keys } = await setup(t)
  let finished = false
  const hub = createLogHub({ redis, keys, isFinished: async () => finished })
  t.teardown(() => hub.close())
  const log = await openLogWriter(redis, keys, 'B5', { maxBytes: 1024 * 1024, redact: keep })
  log.write('clone', 'system', 'before the follower')
  await log.flush()

  const received = collect(hub.follow('B5', '0-0').events)
  for (let i = 0; i < 50; i++) {
    log.write('build', 'stdout', `live ${i}`)
    await new Promise((resolve) => setTimeout(resolve, 2))
  }
  log.status('succeeded', null)
  await log.close()
  const events = await received
  t.same(texts(events), ['before the follower', ...Array.from({ length: 50 }, (_, i) => `live ${i}`)])
  t.match(events.at(-1), { kind: 'status', status: 'succeeded' })
  t.equal(new Set(events.map((event) => event.id)).size, events.length, 'no entry twice')

  finished = true
  const resumed = await collect(hub.follow('B5', events[20]!.id).events)
  t.same(
    resumed.map((event) => event.id),
    events.slice(21).map((event) => event.id),
    'resuming after an id gives exactly what came after it'
  )
})

t.test('following ends a build that ended without a final status event', async (t) => {
  const { redis, keys } = await setup(t)
  let finished = false
  const hub = createLogHub({ redis, keys, isFinished: async () => finished })
  t.teardown(() => hub.close())
  const log = await openLogWriter(redis, keys, 'B6', { maxBytes: 1024 * 1024, redact: keep })
  log.write('build', 'stdout', 'the last words of a worker that died')
  await log.close()
  setTimeout(() => (finished = true), 100)
  const started = Date.now()
  const events = await collect(hub.follow('B6', '0-0').events)
  t.same(texts(events), ['the last words of a worker that died'])
  t.ok(Date.now() - started < 10_000, 'it asks again while the log is idle, and stops')
})
