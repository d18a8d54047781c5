import t from 'tap'
import type { RedisMemory } from '../../src/domain/schemas/storage.js'
import { watchRedisMemory } from '../../src/services/redis-memory-watch.js'

t.test('each process says once that Redis nears its maxmemory, and once that it no longer does', async (t) => {
  const calm: RedisMemory = { usedBytes: 10, maxBytes: 100, policy: 'noeviction', warning: null }
  const near: RedisMemory = { ...calm, usedBytes: 95, warning: 'Redis uses 95% of its maxmemory' }
  const readings = [calm, near, near, near, null, calm, calm]
  const said: string[] = []
  const logger = { warn: (_: object, message: string) => said.push(`warn: ${message}`), info: (_: object, message: string) => said.push(`info: ${message}`) }
  const watch = watchRedisMemory({ read: async () => (readings.length > 1 ? readings.shift()! : readings[0]!), logger, intervalMs: 5 })
  t.teardown(() => watch.close())
  while (readings.length > 1) await new Promise((resolve) => setTimeout(resolve, 5))
  await new Promise((resolve) => setTimeout(resolve, 30))
  t.same(said, ['warn: Redis uses 95% of its maxmemory', "info: Redis's memory is clear of its maxmemory again"], 'a Redis that did not answer changes nothing')
})
