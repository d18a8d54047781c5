import { Redis } from 'ioredis'
import type { Config } from '../../src/domain/config.js'

/** The keys matching `pattern`, a page (up to about 1,000) at a time, none empty. */
export async function * keyPages (redis: Redis, pattern: string): AsyncGenerator<string[]> {
  let cursor = '0'
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000)
    if (keys.length > 0) yield keys
    cursor = next
  } while (cursor !== '0')
}

/** Every key and value under the configuration's prefix, as one string to search for secrets in. */
export async function redisDump (config: Config): Promise<string> {
  const redis = new Redis(config.redisUrl)
  try {
    let dump = ''
    for await (const keys of keyPages(redis, `${config.prefix}:*`)) {
      for (const key of keys) dump += `${key} ${(await redis.dumpBuffer(key))?.toString('latin1') ?? ''}\n`
    }
    return dump
  } finally {
    redis.disconnect()
  }
}
