import { Queue } from 'bullmq'
import { Redis } from 'ioredis'
import t from 'tap'
import { toResource } from '../../src/domain/builds/build-resource.js'
import { newBuildRecord } from '../../src/domain/builds/build-request.js'
import { createStorage } from '../../src/storage/storage.js'
import { WEBHOOK_QUEUE, webhookQueueSettings } from '../../src/storage/webhook-queue.js'
import { testConfig } from '../helpers/config.js'
import { defaultRequest } from '../helpers/fixtures.js'

t.test("an event's job, which carries the whole build, is kept a week, or as long as the build's record when that is shorter", async (t) => {
  const settings = (retention: string) => webhookQueueSettings({ ...testConfig(t), retention }).eventKeepSeconds
  t.equal(settings('90d'), 7 * 86_400, 'a week under the default retention')
  t.equal(settings('2d'), 2 * 86_400)
  t.equal(settings('15m'), 900, 'minutes when records are kept minutes')

  const config = testConfig(t, { retention: '15m' })
  const redis = new Redis(config.redisUrl)
  t.teardown(() => redis.quit())
  const events = createStorage(redis, config).webhookQueue(webhookQueueSettings(config), () => undefined)
  t.teardown(() => events.close())
  const build = toResource(newBuildRecord('01J00000000000000000000009', defaultRequest('https://git.example/app'), new Date()))
  await events.emit('build.queued', build)
  // Read before this test opens the queue itself, which would write its own (default) length.
  t.equal(await redis.hget(`${config.prefix}:${WEBHOOK_QUEUE}:meta`, 'opts.maxLenEvents'), '500', "and BullMQ's events stream, which Slipway does not read, is kept short")
  const queue = new Queue(WEBHOOK_QUEUE, { connection: redis, prefix: config.prefix })
  t.teardown(() => queue.close())
  const job = await queue.getJob(`${build.id}.build.queued`)
  t.same([job?.opts.removeOnComplete, job?.opts.removeOnFail], [{ age: 900 }, { age: 900 }], 'as the job is queued')
})
