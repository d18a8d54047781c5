import { Redis } from 'ioredis'
import t, { type Test } from 'tap'
import { newBuildRecord } from '../../src/domain/builds/build-request.js'
import type { Step } from '../../src/domain/schemas/build.js'
import { openLogWriter, readLogEvents } from '../../src/storage/build-log.js'
import { createBuildStore } from '../../src/storage/build-store.js'
import { redisKeys } from '../../src/storage/keys.js'
import { attemptRecord, createBuildProgress } from '../../workers/build-progress.js'
import { testConfig } from '../helpers/config.js'
import { defaultRequest } from '../helpers/fixtures.js'

const ID = '01J00000000000000000000001'

/** A running build's first attempt on real Redis and its progress, with every write of its record counted. */
async function setup (t: Test) {
  const config = testConfig(t)
  const redis = new Redis(config.redisUrl)
  t.teardown(() => redis.quit())
  const keys = redisKeys(config.prefix)
  const store = createBuildStore(redis, keys)
  await store.create(newBuildRecord(ID, defaultRequest('https://h/a'), new Date()))
  await store.transition(ID, { from: ['queued'], to: 'running', set: { attempts: 1 } })
  const log = await openLogWriter(redis, keys, ID, { maxBytes: 1024 * 1024, redact: (text) => text })
  const record = attemptRecord(store, ID, 1, (text) => text)
  const writes: string[][] = []
  const update = record.update
  record.update = (set) => {
    writes.push(Object.keys(set ?? {}))
    return update(set)
  }
  return { redis, keys, store, log, record, writes, progress: createBuildProgress(record, log, () => undefined) }
}

const step = (instruction: string, status: Step['status']): Step => ({ stage: null, instruction, status, cached: false, startedAt: null, durationMs: null })

t.test('phases back to back share the record writes nobody waits for; settle() leaves the record complete', async (t) => {
  const { redis, keys, store, log, writes, progress } = await setup(t)
  const names = ['clone', 'context', 'build', 'inspect', 'push'] as const
  for (const name of names) await progress.run(name, async () => undefined)
  await progress.settle()
  const stored = await store.get(ID)
  t.same(stored?.phases.map((phase) => [phase.name, phase.status]), names.map((name) => [name, 'succeeded']), 'every phase, ended')
  // Awaited one by one, a phase's start and end would be ten writes.
  t.ok(writes.length <= 3, `the ten changes took ${writes.length} writes`)
  await log.close()
  const events = []
  for await (const event of readLogEvents(redis, keys, ID)) if (event.kind === 'status' && event.phase) events.push(event.phase)
  t.same(events, names, "each phase's start is in the log at once, in order")
})

t.test('steps are written once for a burst, and at once by settle()', async (t) => {
  const { store, writes, progress } = await setup(t)
  for (let i = 1; i <= 20; i++) progress.steps(Array.from({ length: i }, (_, n) => step(`RUN step ${n}`, 'running')))
  await new Promise((resolve) => setTimeout(resolve, 400))
  t.same(writes, [['steps']], 'twenty changes, one write')
  t.equal((await store.get(ID))?.steps.length, 20)
  progress.steps([step('RUN step 0', 'succeeded')])
  await progress.settle()
  t.same((await store.get(ID))?.steps.map((saved) => saved.status), ['succeeded'], 'settle() writes what the timer has not yet')
})

t.test('a write that failed is thrown by the next settle(), once', async (t) => {
  const { record, progress } = await setup(t)
  const update = record.update
  record.update = () => Promise.reject(new Error('Redis went away'))
  await progress.run('clone', async () => undefined)
  await t.rejects(progress.settle(), /Redis went away/)
  record.update = update
  await progress.run('context', async () => undefined)
  await t.resolves(progress.settle(), 'the next writes land, and settle() has nothing to throw')
})
