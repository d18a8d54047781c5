import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import type { Redis } from 'ioredis'
import { createBuildQueue } from '../builds/build-queue.js'
import { createBuildService, type BuildService } from '../builds/build-service.js'
import { createBuildStore } from '../builds/build-store.js'
import { redisKeys } from '../builds/keys.js'
import type { Config } from '../config.js'
import { createRedis } from '../redis.js'

declare module 'fastify' {
  interface FastifyInstance {
    redis: Redis
    builds: BuildService
  }
}

/** The API's connection to Redis and the build service on top of it. */
export default fp(
  async function builds(fastify: FastifyInstance, options: { config: Config }) {
    const { config } = options
    const redis = createRedis(config.redisUrl, 'api', fastify.log)
    // Start without Redis if need be: requests answer 503 until it is back.
    await redis.connect().catch(() => undefined)
    const queue = createBuildQueue(redis, config.prefix, (error) => fastify.log.debug({ err: error }, 'build queue error'))
    const keys = redisKeys(config.prefix)
    fastify.decorate('redis', redis)
    fastify.decorate(
      'builds',
      createBuildService({ redis, keys, store: createBuildStore(redis, keys), queue, policy: { allowLocalRepos: config.allowLocalRepos } })
    )
    fastify.addHook('onClose', async () => {
      await queue.close()
      await redis.quit().catch(() => redis.disconnect())
    })
  },
  { name: 'builds' }
)
