import type { BuildStatus } from '../domain/schemas/build.js'

/**
 * Slipway's own Redis keys. BullMQ keeps its keys under `<prefix>:<queue>:…` (queues are named
 * "builds", "webhooks", …), so ours use other second segments. Keys of one build share the hash
 * tag `{id}`, so a Redis Cluster keeps them on one shard.
 *
 * Each key has one module that reads and writes it and knows how its value is encoded (named
 * above each group); everything else, in storage or above it, calls that module.
 */
export function redisKeys (prefix: string) {
  return {
    // build-store.ts
    build: (id: string) => `${prefix}:build:{${id}}`,
    // Sorted sets with every score 0: members sort by id, and ids sort by creation time.
    allBuilds: `${prefix}:idx:builds`,
    buildsByRepo: (repoKey: string) => `${prefix}:idx:repo:${repoKey}`,
    buildsByStatus: (status: BuildStatus) => `${prefix}:idx:status:${status}`,
    /**
     * A repository's builds of one ref (its group, domain/retention.ts refGroup: the ref as
     * requested, HEAD for the default branch, @commit for commit ids), so the retention sweeper
     * finds the newest of each cheaply. Git refs hold no ':', so the group goes first.
     */
    buildsByRef: (group: string, repoKey: string) => `${prefix}:idx:ref:${group}:${repoKey}`,
    /** Builds the retention sweeper removed, by when (ms), so GET answers 410 rather than 404; trimmed by the sweeper. */
    expiredBuilds: `${prefix}:expired:builds`,
    /** A build's own subscriptions, secrets included: never part of the build record. */
    buildWebhooks: (id: string) => `${prefix}:build:{${id}}:webhooks`,
    /** The queued or running build an identical request joins (by request fingerprint). */
    inflight: (fingerprint: string) => `${prefix}:inflight:${fingerprint}`,
    /** The succeeded build whose image an identical build reuses (by build fingerprint). */
    dedupe: (fingerprint: string) => `${prefix}:dedupe:${fingerprint}`,
    /** The ids of an actor's builds that were queued or running when last looked at. */
    activeBuilds: (actorId: string) => `${prefix}:quota:builds:${actorId}`,
    /**
     * Not a key: the pub/sub channel on which the scripts that change a build record publish
     * "<id> <status>" ("<id> gone" when it is removed); build-changes.ts listens.
     */
    buildChanges: `${prefix}:changes:builds`,

    // build-log.ts; log-hub.ts follows it live, reading it with build-log's decoding.
    log: (id: string) => `${prefix}:build:{${id}}:log`,

    // build-packages.ts
    /** The packages of a build's image (gzipped JSON), for its software bill of materials; removed with the build. */
    buildPackages: (id: string) => `${prefix}:build:{${id}}:packages`,

    // upload-store.ts
    /** An uploaded build source (the gzipped tar), until its build ends. */
    upload: (id: string) => `${prefix}:build:{${id}}:source`,
    /** The bytes of an actor's uploads stored in Redis, by upload id. */
    uploadBytes: (actorId: string) => `${prefix}:quota:uploads:${actorId}`,

    // delivery-store.ts
    delivery: (id: string) => `${prefix}:delivery:{${id}}`,
    buildDeliveries: (id: string) => `${prefix}:build:{${id}}:deliveries`,
    webhookDeliveries: (id: string) => `${prefix}:webhook:{${id}}:deliveries`,

    // webhook-store.ts
    webhook: (id: string) => `${prefix}:webhook:{${id}}`,
    allWebhooks: `${prefix}:idx:webhooks`,

    // idempotency.ts
    /** The build an Idempotency-Key made, per client (a token or trigger rule id: no ':' in it). */
    idempotency: (scope: string, key: string) => `${prefix}:idem:${scope}:${key}`,

    // follower-leases.ts
    /** Leases on a token's open log follows, by expiry. */
    followerLeases: (actorId: string) => `${prefix}:quota:follows:${actorId}`,

    // token-store.ts
    token: (id: string) => `${prefix}:token:${id}`,
    tokenByHash: (hash: string) => `${prefix}:tokenhash:${hash}`,
    allTokens: `${prefix}:idx:tokens`,
    rateLimit: `${prefix}:ratelimit:`,
    /** Unknown tokens presented from one client address in the current window. */
    authFailures: (client: string) => `${prefix}:authfail:${client}`,
    /**
     * A pub/sub channel, not a key (nothing is stored under it): revoked tokens and addresses held
     * back, announced to every API process's token cache (auth-events.ts listens).
     */
    authEvents: `${prefix}:events:auth`,

    // trigger-store.ts
    trigger: (id: string) => `${prefix}:trigger:{${id}}`,
    allTriggers: `${prefix}:idx:triggers`,
    /** The ids of the trigger rules of one provider and repository (by repoKey). */
    triggersByRepo: (provider: string, repoKey: string) => `${prefix}:idx:triggers:${provider}:${repoKey}`,

    // secrets.ts
    /** A secret Slipway holds for builds: its scope, and its value sealed with SLIPWAY_SECRETS_KEY (never in clear). */
    secret: (id: string) => `${prefix}:secret:${id}`,
    allSecrets: `${prefix}:idx:secrets`,

    // delivery-ledger.ts
    /** What one push event delivery, signed by one set of rules, started: a short lease while it is handled, then its builds. */
    triggerDelivery: (provider: string, signers: string, deliveryId: string) => `${prefix}:triggerdelivery:${provider}:${signers}:${deliveryId}`,

    // report-comments.ts
    /** The comment Slipway keeps on one pull (merge) request for one report context, and the build that last wrote it (JSON). */
    reportComment: (provider: string, repo: string, number: number, context: string) => `${prefix}:reportcomment:${provider}:${repo}:${number}:${context}`,
    /** Held (SET NX PX) while a delivery finds, writes and records that comment, so two builds' deliveries never both make one. */
    reportCommentLock: (provider: string, repo: string, number: number, context: string) => `${prefix}:reportcomment:${provider}:${repo}:${number}:${context}:lock`,

    // audit-log.ts
    /**
     * The audit trail, newest last: every entry, and the same entries by actor and by kind so a
     * filtered page reads only what it shows. One hash tag keeps the three on one shard.
     */
    audit: `${prefix}:{audit}:all`,
    auditByActor: (actorId: string) => `${prefix}:{audit}:actor:${actorId}`,
    auditByKind: (kind: string) => `${prefix}:{audit}:kind:${kind}`,

    // retention-store.ts
    /** Held (SET NX PX, by a token) by the one process sweeping at a time. */
    retentionLock: `${prefix}:retention:lock`,
    /** What the last sweep did: when, and how many of each kind it removed (JSON). */
    retentionLastSweep: `${prefix}:retention:last-sweep`,
    /** The id up to which every build's log is gone (or the build is): where the next walk of logs starts. */
    retentionLogCursor: `${prefix}:retention:log-cursor`,

    // image-scans.ts
    /** What reading an image's layers found (files deleted later), by image id. */
    imageScan: (imageId: string) => `${prefix}:imagescan:${imageId}`,

    // cache-facts.ts
    /** The newest build's cache facts of a lineage (a hash of repository, branch, Dockerfile and target). */
    cacheFacts: (lineage: string) => `${prefix}:cachefacts:${lineage}`,

    // host-reports.ts
    /** What a worker last reported of its Docker host (JSON), while it lives. */
    hostReport: (worker: string) => `${prefix}:host:${worker}`,
    /** The workers that reported, by when their report lapses (ms). */
    hostReports: `${prefix}:idx:hosts`,

    // key-census.ts
    /** The last count of Slipway's keys by kind (JSON), made by a retention sweeper. */
    keyCensus: `${prefix}:retention:census`,
    /** Every key of this installation, for SCAN MATCH: the prefix with its glob characters escaped. */
    everything: `${prefix.replace(/[*?[\]\\]/g, '\\$&')}:*`,
    /** The kind of one of these keys, and the build it belongs to, if any. */
    kindOf: (key: string) => keyKind(key, prefix)
  }
}
export type RedisKeys = ReturnType<typeof redisKeys>

/** What Slipway keeps in Redis, by kind: the label of slipway_redis_keys and the storage report. */
export const KEY_KINDS = [
  'build', 'log', 'build_webhooks', 'upload', 'delivery', 'delivery_list', 'index', 'tombstone', 'dedupe', 'quota',
  'idempotency', 'webhook', 'token', 'rate_limit', 'trigger', 'secret', 'trigger_delivery', 'audit', 'retention', 'image_scan',
  'cache_facts', 'host', 'queue', 'build_packages', 'report_comment', 'other'
] as const
export type KeyKind = (typeof KEY_KINDS)[number]

// The segment after the prefix names the kind; a build's and a webhook's own keys say more after
// their id. Queues are BullMQ's (build-queue.ts, webhook-queue.ts name them).
const BY_SEGMENT: Record<string, KeyKind> = {
  idx: 'index',
  expired: 'tombstone',
  inflight: 'dedupe',
  dedupe: 'dedupe',
  quota: 'quota',
  delivery: 'delivery',
  idem: 'idempotency',
  token: 'token',
  tokenhash: 'token',
  ratelimit: 'rate_limit',
  authfail: 'rate_limit',
  trigger: 'trigger',
  secret: 'secret',
  triggerdelivery: 'trigger_delivery',
  reportcomment: 'report_comment',
  '{audit}': 'audit',
  retention: 'retention',
  imagescan: 'image_scan',
  cachefacts: 'cache_facts',
  host: 'host',
  builds: 'queue',
  webhooks: 'queue'
}
const BUILD_SUFFIXES: Record<string, KeyKind> = { log: 'log', webhooks: 'build_webhooks', source: 'upload', deliveries: 'delivery_list', packages: 'build_packages' }

function keyKind (key: string, prefix: string): { kind: KeyKind; buildId?: string } {
  const rest = key.startsWith(`${prefix}:`) ? key.slice(prefix.length + 1) : ''
  const build = /^build:\{([^}]+)\}(?::(\w+))?$/.exec(rest)
  if (build) return { kind: build[2] === undefined ? 'build' : (BUILD_SUFFIXES[build[2]] ?? 'other'), buildId: build[1]! }
  const [segment = ''] = rest.split(':', 1)
  if (segment === 'webhook') return { kind: rest.endsWith(':deliveries') ? 'delivery_list' : 'webhook' }
  return { kind: BY_SEGMENT[segment] ?? 'other' }
}
