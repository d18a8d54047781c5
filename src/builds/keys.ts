import type { BuildStatus } from '../schemas/build.js'

/**
 * Slipway's own Redis keys. BullMQ keeps its keys under `<prefix>:<queue>:…` (queues are named
 * "builds", "webhooks", …), so ours use other second segments. Keys of one build share the hash
 * tag `{id}`, so a Redis Cluster keeps them on one shard.
 */
export function redisKeys(prefix: string) {
  return {
    build: (id: string) => `${prefix}:build:{${id}}`,
    log: (id: string) => `${prefix}:build:{${id}}:log`,
    // Sorted sets with every score 0: members sort by id, and ids sort by creation time.
    allBuilds: `${prefix}:idx:builds`,
    buildsByRepo: (repoKey: string) => `${prefix}:idx:repo:${repoKey}`,
    buildsByStatus: (status: BuildStatus) => `${prefix}:idx:status:${status}`
  }
}
export type RedisKeys = ReturnType<typeof redisKeys>
