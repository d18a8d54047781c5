import { Redis } from 'ioredis'
import t from 'tap'
import { openLogWriter, readLogEntries } from '../../src/builds/build-log.js'
import { redisKeys } from '../../src/builds/keys.js'
import { testConfig } from '../helpers/config.js'

async function collect(iterable: AsyncIterable<{ text: string }>): Promise<string[]> {
  const texts: string[] = []
  for await (const entry of iterable) texts.push(entry.text)
  return texts
}

t.test('lines are kept in order with their phase and stream, and read back in batches', async (t) => {
  const config = testConfig(t)
  const redis = new Redis(config.redisUrl)
  t.teardown(() => redis.quit())
  const keys = redisKeys(config.prefix)
  const log = await openLogWriter(redis, keys, 'B1', 1024 * 1024)
  for (let i = 0; i < 2500; i++) log.write('build', i % 2 ? 'stderr' : 'stdout', `line ${i}`)
  await log.close()
  const entries = []
  for await (const entry of readLogEntries(redis, keys, 'B1')) entries.push(entry)
  t.equal(entries.length, 2500)
  t.same(entries.slice(0, 2).map((e) => [e.phase, e.stream, e.text]), [['build', 'stdout', 'line 0'], ['build', 'stderr', 'line 1']])
  t.equal(entries[2499]?.text, 'line 2499')
  t.same(await collect(readLogEntries(redis, keys, 'B1', entries[2497]!.id)), ['line 2498', 'line 2499'], 'reading resumes after an id')
})

t.test('past the byte limit lines are counted, not kept, and the count holds across writers', async (t) => {
  const config = testConfig(t)
  const redis = new Redis(config.redisUrl)
  t.teardown(() => redis.quit())
  const keys = redisKeys(config.prefix)
  // Ten 99-character lines take 1000 bytes with their newlines.
  const line = 'x'.repeat(99)
  const first = await openLogWriter(redis, keys, 'B2', 1500)
  for (let i = 0; i < 10; i++) first.write('build', 'stdout', line)
  await first.close()
  const second = await openLogWriter(redis, keys, 'B2', 1500)
  for (let i = 0; i < 10; i++) second.write('build', 'stdout', line)
  await second.close()
  const texts = await collect(readLogEntries(redis, keys, 'B2'))
  t.equal(texts.filter((text) => text === line).length, 15, 'a second attempt continues from the bytes already kept')
  t.match(texts.at(-2), /reached its limit of 1500 bytes/)
  t.equal(texts.at(-1), '[slipway] 500 bytes in 5 lines were dropped past the log limit.')
})
