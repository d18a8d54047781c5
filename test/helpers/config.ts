import { randomBytes } from 'node:crypto'
import os from 'node:os'
import path from 'node:path'
import type { Teardown } from './teardown.js'
import { Redis } from 'ioredis'
import { loadConfig, type Config } from '../../src/config.js'

/** The admin token every test configuration accepts (SLIPWAY_ADMIN_TOKEN); see asAdmin(). */
export const TEST_ADMIN_TOKEN = 'slipway-test-admin-token-0123456789'

/** Request headers that authenticate as the test admin, over any others given. */
export function asAdmin(headers: Record<string, string> = {}): Record<string, string> {
  return { authorization: `Bearer ${TEST_ADMIN_TOKEN}`, ...headers }
}

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
    // Worker processes a test starts each listen on a free port, never on the default.
    metricsPort: 0,
    workDir: path.join(os.tmpdir(), prefix),
    dockerConfig: path.join(os.tmpdir(), prefix, 'no-docker-config.json'),
    allowLocalRepos: true,
    logLevel: 'silent',
    adminToken: TEST_ADMIN_TOKEN,
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
