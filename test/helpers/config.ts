import { randomBytes } from 'node:crypto'
import { rm } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { Redis } from 'ioredis'
import { loadConfig, type Config } from '../../src/domain/config.js'
import type { Image, NormalizedRequest } from '../../src/domain/schemas/build.js'
import type { VariantResult } from '../../src/domain/schemas/insight.js'
import { removeImage } from './docker.js'
import { keyPages } from './redis-keys.js'
import type { Teardown } from './teardown.js'

/** The admin token every test configuration accepts (SLIPWAY_ADMIN_TOKEN); see asAdmin(). */
export const TEST_ADMIN_TOKEN = 'slipway-test-admin-token-0123456789'

/** Request headers that authenticate as the test admin, over any others given. */
export function asAdmin (headers: Record<string, string> = {}): Record<string, string> {
  return { authorization: `Bearer ${TEST_ADMIN_TOKEN}`, ...headers }
}

/**
 * A configuration of its own for one test: a fresh Redis key and queue prefix and its own work
 * folder, so tests running side by side never see each other's builds. Afterwards the images its
 * builds made are removed from the Docker Engine, so repeated runs don't fill the disk, then its
 * keys, and last its work folder (the workers' own folders and mirrors in it).
 */
export function testConfig (t: Teardown, overrides: Partial<Config> = {}): Config {
  const prefix = `slipway-test-${randomBytes(4).toString('hex')}`
  // Made by the workers as they start; teardowns run last registered first, so this goes after them.
  const workDir = path.join(os.tmpdir(), prefix)
  t.teardown(() => rm(workDir, { recursive: true, force: true }))
  const config: Config = {
    ...loadConfig({}),
    prefix,
    port: 0,
    // Worker processes a test starts each listen on a free port, never on the default.
    metricsPort: 0,
    workDir,
    dockerConfig: path.join(workDir, 'no-docker-config.json'),
    allowLocalRepos: true,
    logLevel: 'silent',
    adminToken: TEST_ADMIN_TOKEN,
    // Tests push to registries on ports they pick; the ones about push limits set their own.
    pushAllow: '**',
    ...overrides
  }
  const redisUrl = config.redisUrl
  t.teardown(async () => {
    const redis = new Redis(redisUrl)
    try {
      for (const tag of await imageTags(redis, prefix)) await removeImage(tag)
      for await (const keys of keyPages(redis, `${prefix}:*`)) await redis.unlink(...keys)
    } finally {
      redis.disconnect()
    }
  })
  return config
}

/** Every tag the builds under `prefix` gave their images, variants' included. */
async function imageTags (redis: Redis, prefix: string): Promise<string[]> {
  const tags: string[] = []
  // Build records are the hashes `<prefix>:build:{<id>}`; their logs and other keys have suffixes.
  for await (const keys of keyPages(redis, `${prefix}:build:{*}`)) {
    const pipeline = redis.pipeline()
    for (const key of keys) pipeline.hmget(key, 'image', 'variants', 'request')
    for (const [, fields] of (await pipeline.exec()) ?? []) {
      const [image, variants, request] = (fields as (string | null)[]).map((field) => (field ? (JSON.parse(field) as unknown) : null)) as [
        Image | null,
        VariantResult[] | null,
        NormalizedRequest | null
      ]
      tags.push(...(image?.tags ?? []), ...(variants ?? []).flatMap((variant) => variant.tags))
      // A build that failed after building (over its size budget, or in the push) has no image
      // record, but its tags are on the engine.
      if (!image && request?.image) tags.push(...(request.tags ?? []).map((tag) => `${request.image}:${tag}`))
    }
  }
  return tags
}
