import type { AddressInfo } from 'node:net'
import { setTimeout as sleep } from 'node:timers/promises'
import { Redis } from 'ioredis'
import t from 'tap'
import { openLogWriter } from '../../src/storage/build-log.js'
import { redisKeys } from '../../src/storage/keys.js'
import type { Build } from '../../src/domain/schemas/build.js'
import { buildApp } from '../helpers/app.js'
import { asAdmin, testConfig } from '../helpers/config.js'
import { startRedisServer } from '../helpers/redis-server.js'
import { readSse, type SseEvent } from '../helpers/sse.js'

// Followers en masse against one API process, on a Redis of the test's own so that its count of
// connected clients is this process's alone: a crowd of followers (a dashboard left open on every
// screen, or a token opening follows in a loop) must not cost a Redis connection each.

const FOLLOWERS = 100

t.test(`${FOLLOWERS} followers of one build over HTTP share a few Redis connections, and each gets every line`, async (t) => {
  const server = await startRedisServer(t)
  const config = testConfig(t, { redisUrl: server.url, rateLimitPerMinute: 100_000, quotaLogFollowers: 1000 })
  const probe = new Redis(server.url)
  t.teardown(() => probe.disconnect())
  const connected = async () => Number(/connected_clients:(\d+)/.exec(await probe.info('clients'))![1]) - 1
  const app = await buildApp(t, config)
  await app.listen({ host: '127.0.0.1', port: 0 })
  const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`
  const build = (await (await fetch(`${base}/v1/builds`, { method: 'POST', headers: asAdmin({ 'content-type': 'application/json' }), body: JSON.stringify({ repo: 'https://git.example.com/a.git' }) })).json()) as Build

  // The build's log is written the way a worker writes it.
  const writer = new Redis(server.url)
  t.teardown(() => writer.disconnect())
  const log = await openLogWriter(writer, redisKeys(config.prefix), build.id, { maxBytes: 1024 * 1024, redact: (text) => text })
  log.write('build', 'stdout', 'line 0')
  await log.flush()
  const idle = await connected()

  const stop = new AbortController()
  t.teardown(() => stop.abort())
  const ready: Promise<void>[] = []
  const followers: Promise<SseEvent[]>[] = []
  for (let i = 0; i < FOLLOWERS; i++) {
    let signal!: () => void
    ready.push(new Promise((resolve) => (signal = resolve)))
    followers.push(
      (async () => {
        const seen: SseEvent[] = []
        for await (const event of readSse(`${base}/v1/builds/${build.id}/logs`, { headers: asAdmin(), signal: stop.signal })) {
          seen.push(event)
          if (seen.length === 1) signal()
          if (event.event === 'end') break
        }
        return seen
      })()
    )
  }
  await Promise.all(ready)
  const following = await connected()
  t.ok(following - idle <= 3, `${FOLLOWERS} followers added ${following - idle} Redis connections to the ${idle} there were`)

  for (let i = 1; i <= 20; i++) {
    log.write('build', 'stdout', `line ${i}`)
    await sleep(10)
  }
  // As the API ends it (a cancel): the record first, then the status event followers end on.
  await writer.hset(`${config.prefix}:build:{${build.id}}`, 'status', 'canceled')
  log.status('canceled', null)
  await log.close()
  const expected = Array.from({ length: 21 }, (_, i) => `line ${i}`)
  for (const seen of await Promise.all(followers)) {
    const lines = seen.filter((event) => event.event === 'log').map((event) => (JSON.parse(event.data) as { text: string }).text)
    if (lines.join() !== expected.join()) t.fail(`a follower saw ${lines.join(', ')}`)
  }
  t.pass('every follower got every line once, in order, and the end')

  writer.disconnect()
  await app.close()
  await sleep(200)
  t.equal(await connected(), 0, 'closing the API let every connection go')
})
