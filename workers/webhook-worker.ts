import { Worker, type Job } from 'bullmq'
import type { Logger } from 'pino'
import { Registry } from 'prom-client'
import { repoKey } from '../src/domain/builds/repo-url.js'
import type { Config } from '../src/domain/config.js'
import { registerWebhookMetrics } from '../src/metrics/worker-metrics.js'
import { createRedis } from '../src/storage/redis.js'
import { createStorage } from '../src/storage/storage.js'
import type { DeliveryAttempt } from '../src/domain/schemas/webhook.js'
import { formatPayload } from '../src/domain/webhooks/chat-formats.js'
import type { DeliveryTarget, StoredDelivery } from '../src/storage/delivery-store.js'
import { webhookHeaders } from '../src/domain/webhooks/signing.js'
import { checkWebhookUrl, guardedLookup, parseAllowList } from '../src/services/url-policy.js'
import { WEBHOOK_QUEUE, webhookQueueSettings, type DeliverJobData, type FanoutJobData } from '../src/storage/webhook-queue.js'
import { liveSecrets } from '../src/storage/webhook-store.js'
import { keyringOf } from '../src/domain/secrets/secret-key.js'
import { reportDeliveries, sendReport, type ReportNeeds } from './reports/report-deliveries.js'
import { postWebhook } from './webhooks/post-webhook.js'

const TIMEOUT_MS = 10_000
// Deliveries wait on receivers, not on this machine: many can be in flight at once.
const CONCURRENCY = 16

/** Fans build events out to their subscriptions and delivers them, signed, with retries; counts attempts in `metrics`. */
export async function startWebhookWorker (config: Config, logger: Logger, metrics = new Registry()): Promise<{ close(): Promise<void> }> {
  const redis = createRedis(config.redisUrl, 'worker', logger)
  const storage = createStorage(redis, config)
  const { webhooks, deliveries, builds } = storage
  const onError = (error: Error) => logger.warn({ err: error }, 'webhook queue error')
  const queue = storage.webhookQueue(webhookQueueSettings(config), onError)
  const allow = parseAllowList(config.webhookAllow)
  const lookup = guardedLookup(allow)
  const { attempts } = registerWebhookMetrics(metrics)
  const keyring = keyringOf(config)
  const reportNeeds: ReportNeeds = {
    builds,
    deliveries,
    triggers: storage.triggers,
    reportComments: storage.reportComments,
    secrets: keyring ? storage.secrets(keyring) : null,
    config
  }

  /** One delivery per subscription that wants the event, and the build's reports; safe to run again (ids are derived). */
  async function fanout (event: FanoutJobData): Promise<void> {
    const targets: { target: DeliveryTarget; key: string; url: string; format: StoredDelivery['format']; body?: string }[] = []
    const { repo } = event.build.request
    const repository = repo === null ? null : repoKey(repo)
    for (const webhook of await webhooks.list()) {
      if (webhook.enabled && webhook.events.includes(event.type) && repoMatches(webhook.repo, repository)) {
        targets.push({ target: { kind: 'webhook', webhookId: webhook.id }, key: webhook.id, url: webhook.url, format: webhook.format })
      }
    }
    for (const [index, own] of (await builds.webhooksOf(event.build.id)).entries()) {
      if (own.events.includes(event.type)) targets.push({ target: { kind: 'build', index }, key: `B${index}`, url: own.url, format: own.format })
    }
    for (const report of await reportDeliveries(event.build, reportNeeds)) targets.push({ ...report, format: 'json' })
    for (const { target, key, url, format, body } of targets) {
      const id = `${event.eventId}_${key}`
      const delivery: StoredDelivery = {
        id,
        webhookId: target.kind === 'webhook' ? target.webhookId : null,
        buildId: event.build.id,
        event: event.type,
        sequence: event.sequence,
        url: new URL(url).origin,
        status: 'pending',
        createdAt: event.timestamp,
        attempts: [],
        target,
        format,
        body: body ?? JSON.stringify(formatPayload(format, event, config.publicUrl))
      }
      const created = await deliveries.create(delivery)
      const untried = created || (await deliveries.get(id))?.attempts.length === 0
      if (untried) await queue.deliver(id)
    }
  }

  /** Where a delivery goes and the secrets that sign it, as they are now; null when it must not go. */
  async function destination (buildId: string, target: Exclude<DeliveryTarget, { kind: 'report' }>): Promise<{ url: string; secrets: string[] } | { abandon: string }> {
    if (target.kind === 'build') {
      const own = (await builds.webhooksOf(buildId))[target.index]
      return own ? { url: own.url, secrets: [own.secret] } : { abandon: "the build's subscription is gone" }
    }
    const webhook = await webhooks.get(target.webhookId)
    if (!webhook) return { abandon: 'the subscription was deleted' }
    if (!webhook.enabled) return { abandon: `the subscription is disabled${webhook.disabledReason ? `: ${webhook.disabledReason}` : ''}` }
    return { url: webhook.url, secrets: liveSecrets(webhook.secrets) }
  }

  async function deliver (job: Job<DeliverJobData>): Promise<void> {
    const delivery = await deliveries.get(job.data.deliveryId)
    if (!delivery || delivery.status === 'delivered' || delivery.status === 'abandoned') return
    const at = new Date().toISOString()
    // Every attempt is recorded, and counted by what came of it.
    const record = (attempt: DeliveryAttempt, status: StoredDelivery['status']) => {
      attempts.inc({ outcome: status === 'pending' ? 'retrying' : status })
      return deliveries.recordAttempt(delivery.id, attempt, status)
    }
    const abandon = (why: string) => record({ at, statusCode: null, durationMs: 0, error: `not sent: ${why}`, response: null }, 'abandoned')
    /** A failed attempt: retried with backoff until the last one, unless the answer says trying again cannot help. */
    const failed = async (attempt: DeliveryAttempt, final: boolean) => {
      const last = final || job.attemptsMade + 1 >= (job.opts.attempts ?? 1)
      await record(attempt, last ? 'failed' : 'pending')
      if (!last) throw new Error(attempt.error ?? `the receiver answered ${attempt.statusCode}`)
    }
    if (delivery.target.kind === 'report') {
      const outcome = await sendReport(delivery, reportNeeds)
      if ('abandon' in outcome) return abandon(outcome.abandon)
      const attempt = { at, ...outcome.result }
      if (succeeded(outcome.result)) return record(attempt, 'delivered')
      return failed(attempt, refusedForGood(outcome.result.statusCode))
    }
    const to = await destination(delivery.buildId, delivery.target)
    if ('abandon' in to) return abandon(to.abandon)
    let url: URL
    try {
      // Checked again at each attempt: the allowlist may have changed, and an IP literal is never looked up.
      url = checkWebhookUrl(to.url, allow)
    } catch (error) {
      await record({ at, statusCode: null, durationMs: 0, error: (error as Error).message, response: null }, 'abandoned')
      return
    }
    const headers = webhookHeaders(to.secrets, `msg_${delivery.id}`, Math.floor(Date.now() / 1000), delivery.body)
    const result = await postWebhook(url, headers, delivery.body, { timeoutMs: TIMEOUT_MS, lookup })
    const attempt = { at, ...result }
    if (succeeded(result)) return record(attempt, 'delivered')
    if (result.statusCode === 410) {
      await record(attempt, 'abandoned')
      if (delivery.target.kind === 'webhook') {
        await webhooks.update(delivery.target.webhookId, { enabled: false, disabledReason: `the receiver answered 410 Gone at ${at}` })
      }
      return
    }
    return failed(attempt, false)
  }

  const worker = new Worker<FanoutJobData | DeliverJobData>(
    WEBHOOK_QUEUE,
    async (job) => (job.name === 'fanout' ? fanout(job.data as FanoutJobData) : deliver(job as Job<DeliverJobData>)),
    { connection: redis, prefix: config.prefix, concurrency: CONCURRENCY }
  )
  worker.on('error', onError)
  return {
    async close () {
      await worker.close()
      await queue.close()
      await redis.quit().catch(() => redis.disconnect())
    }
  }
}

const succeeded = (result: { error: string | null; statusCode: number | null }) => result.error === null && result.statusCode !== null && result.statusCode >= 200 && result.statusCode < 300

/**
 * A forge's 4xx says the request itself is wrong (a token refused, a repository or commit it does
 * not know): sending it again cannot help. Timeouts, conflicts and rate limits can pass.
 */
const refusedForGood = (statusCode: number | null) => statusCode !== null && statusCode >= 400 && statusCode < 500 && ![408, 409, 425, 429].includes(statusCode)

/**
 * A subscription's repository pattern against a repository key (host/path); "*" matches any run.
 * A build of an upload (no repository) reaches only subscriptions without a pattern.
 */
export function repoMatches (pattern: string | null, repository: string | null): boolean {
  if (pattern === null) return true
  if (repository === null) return false
  const normalized = pattern.replace(/^[a-z][a-z0-9+.-]*:\/\/([^/@]*@)?/i, '').replace(/\.git$/, '').replace(/\/+$/, '')
  const regex = new RegExp(`^${normalized.split('*').map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`, 'i')
  return regex.test(repository)
}
