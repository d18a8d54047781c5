import type { Redis } from 'ioredis'
import { gzippedJson } from './gzipped-json.js'
import type { RedisKeys } from './keys.js'

/**
 * The packages found in each build's image, from which its software bill of materials is written
 * when asked for (SPDX or CycloneDX): kept as long as the build, and removed with it
 * (build-store.ts's expire). Gzipped: a Node image lists thousands of packages, with paths that
 * repeat. The shape is the worker's.
 */
export function createBuildPackages (redis: Redis, keys: RedisKeys) {
  const values = gzippedJson(redis)
  return {
    get: <Packages>(buildId: string) => values.get<Packages>(keys.buildPackages(buildId)),
    set: (buildId: string, packages: unknown) => values.set(keys.buildPackages(buildId), packages)
  }
}

export type BuildPackages = ReturnType<typeof createBuildPackages>
