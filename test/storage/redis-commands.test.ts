import { Redis } from 'ioredis'
import t from 'tap'
import { newBuildRecord } from '../../src/domain/builds/build-request.js'
import { createStorage } from '../../src/storage/storage.js'
import { defaultRequest } from '../helpers/fixtures.js'
import { startRedisServer } from '../helpers/redis-server.js'

// Storage's Lua scripts are ioredis commands: sent by SHA1, with their source only where Redis
// does not know them. On a Redis of the test's own, whose script cache can be emptied.

t.test('the scripts are defined once per connection and run again after Redis forgets them', async (t) => {
  const server = await startRedisServer(t)
  const redis = new Redis(server.url)
  t.teardown(() => redis.quit())
  const storage = createStorage(redis, { prefix: 'commands-test', retention: '90d' })
  t.equal(createStorage(redis, { prefix: 'commands-test', retention: '90d' }).connection, storage.connection, 'a second storage over the connection shares it')
  t.equal(typeof storage.connection.transitionBuild, 'function')

  const id = '01J00000000000000000000001'
  t.same(await storage.builds.create(newBuildRecord(id, defaultRequest('https://h/a'), new Date())), { kind: 'stored' })
  t.equal(await storage.builds.transition(id, { from: ['queued'], to: 'running' }), true)
  await redis.script('FLUSH')
  t.equal(await storage.builds.transition(id, { from: ['running'], to: 'succeeded' }), true, 'a script Redis no longer knows is sent again')
  t.equal((await storage.builds.get(id))?.status, 'succeeded')
})
