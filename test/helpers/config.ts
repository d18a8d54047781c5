import { randomBytes } from 'node:crypto'
import os from 'node:os'
import path from 'node:path'
import type { Teardown } from './teardown.js'
import { Redis } from 'ioredis'
import { loadConfig, type Config } from '../../src/config.js'

/**
 * A configuration of its own for one test: a fresh Redis key and queue prefix (removed afterwards)
 * and its own work folder, so tests running side by side never see each other's builds.
 */
export function testConfig(t: Teardown, overrides: Partial<Config> = {}): Config {
  const prefix = `slipway-test-${randomBytes(4).toString('hex')}`
  const config: Config = {
    ...loadConfig({}),
    prefix,
    port: 0,
    workDir: path.join(os.tmpdir(), prefix),
    dockerConfig: path.join(os.tmpdir(), prefix, 'no-docker-config.json'),
    allowLocalRepos: true,
    logLevel: 'silent',
    ...overrides
  }
  const redisUrl = config.redisUrl
  t.teardown(() => deleteKeys(redisUrl, `${prefix}:*`))
  return config
}

async function deleteKeys(redisUrl: string, pattern: string): Promise<void> {
  const redis = new Redis(redisUrl)
  try {
    let cursor = '0'
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000)
      if (keys.length > 0) await redis.unlink(...keys)
      cursor = next
    } while (cursor !== '0')
  } finally {
    redis.disconnect()
  }
}
