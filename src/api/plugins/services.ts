import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import type { AuditLog } from '../../storage/audit-log.js'
import type { TokenStore } from '../../storage/token-store.js'
import type { SecretStore } from '../../storage/secrets.js'
import { keyringOf } from '../../domain/secrets/secret-key.js'
import { createBuildAnswers, type BuildAnswers } from '../../services/build-answers.js'
import { createBuildService, type BuildService } from '../../services/build-service.js'
import { createBuildDocuments, type BuildDocuments } from '../../services/build-documents.js'
import { packageVersion } from '../../package-info.js'
import { parseSigningKey, publicHalf, type PublicSigningKey } from '../../domain/supply-chain/signing-key.js'
import { parsePushAllowSetting, type PushPolicy } from '../../domain/builds/push-allow.js'
import { createLogService, type LogService } from '../../services/log-service.js'
import type { Config } from '../../domain/config.js'
import type { ClusterCounts } from '../../metrics/cluster-metrics.js'
import { createRedis } from '../../storage/redis.js'
import { createStorage, type Storage } from '../../storage/storage.js'
import { repoPolicy } from '../../domain/builds/repo-url.js'
import { recordsLifetimeMs } from '../../domain/retention.js'
import { parseAllowList } from '../../services/url-policy.js'
import { createWebhookService, type WebhookService } from '../../services/webhook-service.js'
import { createTriggerService, type TriggerService } from '../../services/trigger-service.js'
import { createStorageReport, readRedisMemory, type StorageReporter } from '../../services/storage-report.js'
import { MAX_UPLOAD_ENTRIES } from '../../domain/uploads/safe-tar.js'
import { uploadTtlSeconds, type UploadStore } from '../../storage/upload-store.js'
import { webhookQueueSettings } from '../../storage/webhook-queue.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** The API's stores over its one Redis connection. */
    storage: Storage
    builds: BuildService
    /** GET /v1/builds/{id}'s answers: ended ones kept, waits woken by changes. */
    buildAnswers: BuildAnswers
    /** A build's provenance statement and software bill of materials. */
    buildDocuments: BuildDocuments
    logs: LogService
    webhooks: WebhookService
    tokens: TokenStore
    triggers: TriggerService
    clusterCounts: ClusterCounts
    storageReport: StorageReporter
    uploads: UploadStore
    audit: AuditLog
    /** Secrets for builds; null without SLIPWAY_SECRETS_KEY. */
    secrets: SecretStore | null
    /** SLIPWAY_PUSH_ALLOW and SLIPWAY_ADMIN_PUSH_ANYWHERE, read once. */
    pushPolicy: PushPolicy
    /** The public half of SLIPWAY_SIGNING_KEY; null without one. */
    signingKey: PublicSigningKey | null
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
    const storage = createStorage(redis, config)
    const onQueueError = (error: Error) => fastify.log.debug({ err: error }, 'queue error')
    const buildQueue = storage.buildQueue(onQueueError)
    const events = storage.webhookQueue(webhookQueueSettings(config), onQueueError)
    const { audit, builds: store } = storage
    const webhooks = createWebhookService({
      audit,
      webhooks: storage.webhooks,
      deliveries: storage.deliveries,
      queue: events,
      allow: parseAllowList(config.webhookAllow)
    })
    const uploads = storage.uploads({
      limits: { maxBytes: config.uploadMaxBytes, maxUnpackedBytes: config.cloneMaxBytes, maxEntries: MAX_UPLOAD_ENTRIES },
      ttlSeconds: uploadTtlSeconds(config),
      quotaBytes: config.quotaUploadBytes
    })
    const keyring = keyringOf(config)
    const secrets = keyring ? storage.secrets(keyring) : null
    const policy = {
      defaultBuilder: config.builder,
      repos: repoPolicy(config),
      timeoutSeconds: config.buildTimeoutSeconds,
      timeoutMaxSeconds: config.buildTimeoutMaxSeconds,
      localNamespace: config.localImageNamespace
    }
    const builds = createBuildService({
      store,
      idempotency: storage.idempotency,
      queue: buildQueue,
      webhooks,
      events,
      uploads,
      policy,
      secrets,
      maxActiveBuilds: config.quotaActiveBuilds,
      audit,
      logger: fastify.log,
      retention: config
    })
    fastify.decorate('storage', storage)
    fastify.decorate('tokens', storage.tokens)
    fastify.decorate('secrets', secrets)
    fastify.decorate('audit', audit)
    fastify.decorate('pushPolicy', pushPolicy)
    fastify.decorate('clusterCounts', {
      builds: () => store.countByStatus(),
      queues: async () => ({ builds: await buildQueue.counts(), webhooks: await events.counts() }),
      redisMemory: () => readRedisMemory(storage.keyCensus),
      keys: async () => (await storage.keyCensus.last())?.keys ?? null
    })
    fastify.decorate('storageReport', createStorageReport({ storage, settings: config }))
    fastify.decorate('webhooks', webhooks)
    fastify.decorate('uploads', uploads)
    const logs = createLogService({ storage, maxFollowers: config.quotaLogFollowers, logger: fastify.log, retention: config })
    fastify.decorate('logs', logs)
    fastify.decorate('builds', builds)
    const buildChanges = storage.buildChanges()
    fastify.decorate('buildAnswers', createBuildAnswers({
      store,
      changes: buildChanges,
      missing: builds.missing,
      maxBytes: config.buildAnswerCacheBytes,
      recordsLifetimeMs: recordsLifetimeMs(config.retention)
    }))
    fastify.decorate('signingKey', config.signingKey ? publicHalf(parseSigningKey(config.signingKey)) : null)
    fastify.decorate('buildDocuments', createBuildDocuments({
      getBuild: builds.get,
      packages: storage.buildPackages,
      installation: { publicUrl: config.publicUrl, version: packageVersion },
      settings: { provenance: config.provenance, sbom: config.sbom }
    }))
    fastify.decorate(
      'triggers',
      createTriggerService({
        store: storage.triggers,
        ledger: storage.deliveryLedger,
        builds,
        policy,
        pushPolicy,
        publicUrl: config.publicUrl,
        audit
      })
    )
    fastify.addHook('onClose', async () => {
      buildChanges.close()
      await Promise.all([buildQueue.close(), events.close(), logs.close()])
      await redis.quit().catch(() => redis.disconnect())
    })
  },
  { name: 'services' }
)
