import type { Redis } from 'ioredis'
import type { RedisKeys } from './keys.js'

// An image id names its content: what its layers hold never changes, so the answer can be kept
// long: 30 days, or SLIPWAY_RETENTION if shorter.
const SCAN_TTL_SECONDS = 30 * 86_400

/**
 * What reading an image's layers found, by image id: reading them is slow, and a build served
 * from the layer cache makes the same image and asks again. The scan is kept as JSON; its shape is
 * the worker's, who reads it back as what it wrote.
 */
export function createImageScans (redis: Redis, keys: RedisKeys, keepAtMostSeconds = Infinity) {
  const ttl = Math.min(SCAN_TTL_SECONDS, keepAtMostSeconds)
  return {
    async get<Scan> (imageId: string): Promise<Scan | null> {
      const kept = await redis.get(keys.imageScan(imageId))
      return kept === null ? null : (JSON.parse(kept) as Scan)
    },
    async set (imageId: string, scan: unknown): Promise<void> {
      await redis.set(keys.imageScan(imageId), JSON.stringify(scan), 'EX', ttl)
    }
  }
}

export type ImageScans = ReturnType<typeof createImageScans>
