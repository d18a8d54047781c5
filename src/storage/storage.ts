import type { Redis } from 'ioredis'
import type { Config } from '../domain/config.js'
import { recordsLifetimeMs } from '../domain/retention.js'
import { createAuditLog } from './audit-log.js'
import { listenToAuthEvents, type AuthEventHandlers } from './auth-events.js'
import { createBuildChanges } from './build-changes.js'
import { createBuildLogs } from './build-log.js'
import { createBuildQueue } from './build-queue.js'
import { createBuildStore } from './build-store.js'
import { createCacheFacts } from './cache-facts.js'
import { createDeliveryLedger } from './delivery-ledger.js'
import { createDeliveryStore } from './delivery-store.js'
import { createFollowerLeases } from './follower-leases.js'
import { createHostReports } from './host-reports.js'
import { createIdempotency } from './idempotency.js'
import { createImageScans } from './image-scans.js'
import { createBuildPackages } from './build-packages.js'
import { createKeyCensus } from './key-census.js'
import { redisKeys } from './keys.js'
import { createLogHub } from './log-hub.js'
import { withCommands } from './redis-commands.js'
import { createReportComments } from './report-comments.js'
import { createRetentionStore } from './retention-store.js'
import { createSecretStore } from './secrets.js'
import { createTokenStore } from './token-store.js'
import type { Keyring } from '../domain/secrets/secret-key.js'
import { createTriggerStore } from './trigger-store.js'
import { createStoredUploads, createUploadStore, type UploadLimits } from './upload-store.js'
import { createWebhookQueue, type WebhookQueueSettings } from './webhook-queue.js'
import { createWebhookStore } from './webhook-store.js'

/**
 * Every store and queue of Slipway over one connection, under one key prefix: what the API and
 * the workers are handed instead of a Redis client. Each store is the one module that reads and
 * writes its keys. The stores that hold settings, timers or connections of their own are made
 * when asked for, by whoever needs them. Keys that expire by themselves (claims, dedupe and
 * idempotency keys, image scans, cache facts, push delivery ledgers) live no longer than SLIPWAY_RETENTION.
 */
export function createStorage (redis: Redis, settings: Pick<Config, 'prefix' | 'retention'>) {
  const { prefix } = settings
  const connection = withCommands(redis)
  const keys = redisKeys(prefix)
  const keepAtMostSeconds = recordsLifetimeMs(settings.retention) / 1000
  const audit = createAuditLog(connection, keys)
  return {
    /** The connection itself, for what takes one: BullMQ's workers, the readiness probe, connecting and quitting. */
    connection,
    builds: createBuildStore(connection, keys, keepAtMostSeconds),
    buildLogs: createBuildLogs(connection, keys),
    audit,
    tokens: createTokenStore(connection, keys, audit),
    idempotency: createIdempotency(connection, keys, keepAtMostSeconds),
    webhooks: createWebhookStore(connection, keys),
    deliveries: createDeliveryStore(connection, keys),
    deliveryLedger: createDeliveryLedger(connection, keys, keepAtMostSeconds),
    triggers: createTriggerStore(connection, keys),
    storedUploads: createStoredUploads(connection, keys),
    imageScans: createImageScans(connection, keys, keepAtMostSeconds),
    cacheFacts: createCacheFacts(connection, keys, keepAtMostSeconds),
    buildPackages: createBuildPackages(connection, keys),
    retention: createRetentionStore(connection, keys),
    keyCensus: createKeyCensus(connection, keys),
    hostReports: createHostReports(connection, keys),
    reportComments: createReportComments(connection, keys, keepAtMostSeconds),

    /** The API's store of uploads being received, under its limits and quota. */
    uploads: (settings: { limits: UploadLimits; ttlSeconds: number; quotaBytes: number }) => createUploadStore({ redis: connection, keys, ...settings }),
    /** Secrets for builds, sealed with the keyring's key (SLIPWAY_SECRETS_KEY, keyringOf). */
    secrets: (keyring: Keyring) => createSecretStore(connection, keys, keyring, audit),
    followerLeases: (limit: number) => createFollowerLeases({ redis: connection, keys, limit }),
    /** Revoked tokens and addresses held back, as announced, on a subscribed connection of its own; close() lets it go. */
    authEvents: (handlers: AuthEventHandlers) => listenToAuthEvents(connection, keys, handlers),
    /** Opens its own subscribing connection once listened to; close() lets it go. */
    buildChanges: () => createBuildChanges({ redis: connection, keys }),
    /** Opens its own blocking connection once a log is followed; close() lets it go. */
    logHub: (deps: Omit<Parameters<typeof createLogHub>[0], 'redis' | 'keys'>) => createLogHub({ redis: connection, keys, ...deps }),
    buildQueue: (onError: (error: Error) => void) => createBuildQueue(connection, prefix, onError),
    webhookQueue: (settings: WebhookQueueSettings, onError: (error: Error) => void) => createWebhookQueue(connection, prefix, settings, onError)
  }
}

export type Storage = ReturnType<typeof createStorage>
