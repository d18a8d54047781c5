import { Redis, type RedisOptions } from 'ioredis'

/**
 * A Redis client for one role. The API fails fast while Redis is away (its handlers answer 503
 * at once); a worker waits for Redis to return, so a build in flight is not lost to a blip.
 * Either way the client reconnects by itself.
 */
export function createRedis (url: string, role: 'api' | 'worker', logger: { warn(details: object, message: string): void }, connectionName?: string): Redis {
  const options: RedisOptions =
    role === 'api'
      ? { enableOfflineQueue: false, maxRetriesPerRequest: 1, lazyConnect: true, connectTimeout: 1000 }
      : { maxRetriesPerRequest: null, lazyConnect: true }
  const redis = new Redis(url, { ...options, connectionName, retryStrategy: (attempt) => Math.min(attempt * 200, 2000) })
  let lastLogged = 0
  redis.on('error', (error: Error) => {
    // While Redis is down every retry fails; one line every 10 s says so without flooding the log.
    if (Date.now() - lastLogged < 10_000) return
    lastLogged = Date.now()
    logger.warn({ err: error, role }, 'Redis is unreachable; retrying')
  })
  return redis
}

/**
 * Whether an error is ioredis saying the connection is gone. Its status still reads `ready` in
 * the moment between the socket closing and ioredis hearing of it, and a command sent then fails
 * with "Stream isn't writeable": that is Redis down too, not a fault of ours.
 */
export function isConnectionLost (error: unknown): boolean {
  return error instanceof Error && (error.name === 'MaxRetriesPerRequestError' || /^(Stream isn't writeable|Connection is closed)/.test(error.message))
}
