import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import type { Redis } from 'ioredis'
import { createAuditLog, type AuditLog } from '../../storage/audit-log.js'
import { createTokenStore, type TokenStore } from '../../storage/token-store.js'
import { createBuildQueue } from '../../storage/build-queue.js'
import { createBuildService, type BuildService } from '../../services/build-service.js'
import { createBuildStore } from '../../storage/build-store.js'
import { redisKeys } from '../../storage/keys.js'
import { parsePushAllowSetting, type PushPolicy } from '../../domain/builds/push-allow.js'
import { createLogService, type LogService } from '../../services/log-service.js'
import type { Config } from '../../domain/config.js'
import type { ClusterCounts } from '../../metrics/cluster-metrics.js'
import { createRedis } from '../../storage/redis.js'
import { repoPolicy } from '../../domain/builds/repo-url.js'
import { createDeliveryStore } from '../../storage/delivery-store.js'
import { parseAllowList } from '../../services/url-policy.js'
import { createWebhookQueue } from '../../storage/webhook-queue.js'
import { createWebhookService, type WebhookService } from '../../services/webhook-service.js'
import { createWebhookStore } from '../../storage/webhook-store.js'
import { createDeliveryLedger } from '../../storage/delivery-ledger.js'
import { createTriggerService, type TriggerService } from '../../services/trigger-service.js'
import { createTriggerStore } from '../../storage/trigger-store.js'
import { MAX_UPLOAD_ENTRIES } from '../../domain/uploads/safe-tar.js'
import { createUploadStore, uploadTtlSeconds, type UploadStore } from '../../storage/upload-store.js'

declare module 'fastify' {
  interface FastifyInstance {
    redis: Redis
    builds: BuildService
    logs: LogService
    webhooks: WebhookService
    tokens: TokenStore
    triggers: TriggerService
    clusterCounts: ClusterCounts
    uploads: UploadStore
    audit: AuditLog
    /** SLIPWAY_PUSH_ALLOW and SLIPWAY_ADMIN_PUSH_ANYWHERE, read once. */
    pushPolicy: PushPolicy
  }
}

/** The API's connection to Redis and the services on top of it. */
export default fp(
  async function services (fastify: FastifyInstance, options: { config: Config }) {
    const { config } = options
    const pushPolicy: PushPolicy = { defaults: parsePushAllowSetting(config.pushAllow), adminAnywhere: config.adminPushAnywhere }
    // Named, so that CLIENT LIST tells an API process's connections apart.
    const redis = createRedis(config.redisUrl, 'api', fastify.log, `${config.prefix}:api`)
    // Start without Redis if need be: requests answer 503 until it is back.
    await redis.connect().catch(() => undefined)
    const onQueueError = (error: Error) => fastify.log.debug({ err: error }, 'queue error')
    const buildQueue = createBuildQueue(redis, config.prefix, onQueueError)
    const events = createWebhookQueue(redis, config.prefix, { attempts: config.webhookAttempts, backoffMs: config.webhookBackoffMs }, onQueueError)
    const keys = redisKeys(config.prefix)
    const audit = createAuditLog(redis, keys)
    const webhooks = createWebhookService({
      audit,
      webhooks: createWebhookStore(redis, keys),
      deliveries: createDeliveryStore(redis, keys),
      queue: events,
      allow: parseAllowList(config.webhookAllow)
    })
    const store = createBuildStore(redis, keys)
    const uploads = createUploadStore({
      redis,
      keys,
      limits: { maxBytes: config.uploadMaxBytes, maxUnpackedBytes: config.cloneMaxBytes, maxEntries: MAX_UPLOAD_ENTRIES },
      ttlSeconds: uploadTtlSeconds(config),
      quotaBytes: config.quotaUploadBytes
    })
    const policy = {
      repos: repoPolicy(config),
      timeoutSeconds: config.buildTimeoutSeconds,
      timeoutMaxSeconds: config.buildTimeoutMaxSeconds,
      localNamespace: config.localImageNamespace
    }
    const builds = createBuildService({ redis, keys, store, queue: buildQueue, webhooks, events, uploads, policy, maxActiveBuilds: config.quotaActiveBuilds, audit, logger: fastify.log })
    fastify.decorate('redis', redis)
    fastify.decorate('tokens', createTokenStore(redis, keys, audit))
    fastify.decorate('audit', audit)
    fastify.decorate('pushPolicy', pushPolicy)
    fastify.decorate('clusterCounts', {
      builds: () => store.countByStatus(),
      queues: async () => ({ builds: await buildQueue.counts(), webhooks: await events.counts() })
    })
    fastify.decorate('webhooks', webhooks)
    fastify.decorate('uploads', uploads)
    const logs = createLogService({ redis, keys, store, maxFollowers: config.quotaLogFollowers, logger: fastify.log })
    fastify.decorate('logs', logs)
    fastify.decorate('builds', builds)
    fastify.decorate(
      'triggers',
      createTriggerService({
        store: createTriggerStore(redis, keys),
        ledger: createDeliveryLedger(redis, keys),
        builds,
        policy,
        pushPolicy,
        publicUrl: config.publicUrl,
        audit
      })
    )
    fastify.addHook('onClose', async () => {
      await Promise.all([buildQueue.close(), events.close(), logs.close()])
      await redis.quit().catch(() => redis.disconnect())
    })
  },
  { name: 'services' }
)
