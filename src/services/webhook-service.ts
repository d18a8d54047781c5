import type { AuditLog } from '../storage/audit-log.js'
import { DeliveryNotFound, WebhookNotFound } from '../domain/errors.js'
import { newId } from '../domain/ids.js'
import type { Actor } from '../domain/schemas/audit.js'
import type { BuildWebhook, BuildWebhookView, Delivery, SecretRotation, Webhook, WebhookCreate, WebhookUpdate } from '../domain/schemas/webhook.js'
import { BUILD_EVENT_TYPES } from '../domain/webhooks/event-types.js'
import { toDeliveryResource, type DeliveryStore } from '../storage/delivery-store.js'
import { generateSecret } from '../domain/webhooks/signing.js'
import { checkWebhookUrl, type AllowList } from './url-policy.js'
import type { WebhookQueue } from '../storage/webhook-queue.js'
import { liveSecrets, toWebhookResource, type StoredWebhook, type WebhookStore } from '../storage/webhook-store.js'
import type { StoredBuildWebhook } from '../storage/build-store.js'

const DEFAULT_GRACE_SECONDS = 86_400

/** What the API does with webhook subscriptions and their deliveries. */
export function createWebhookService (deps: { webhooks: WebhookStore; deliveries: DeliveryStore; queue: WebhookQueue; allow: AllowList; audit: AuditLog }) {
  const { webhooks, deliveries } = deps
  // A receiver's path and query can be its secret (chat webhooks): the trail names its origin only.
  const audit = (actor: Actor, action: 'create' | 'update' | 'delete' | 'rotate-secret' | 'redeliver', id: string, summary: string) =>
    deps.audit.record({ actor, action: `webhook.${action}`, kind: 'webhook', resourceId: id, summary })

  async function existing (id: string): Promise<StoredWebhook> {
    const webhook = await webhooks.get(id)
    if (!webhook) throw new WebhookNotFound(id)
    return webhook
  }

  return {
    /** A new subscription; its secret is in this answer and never again. */
    async create (body: WebhookCreate, actor: Actor): Promise<Webhook> {
      const now = new Date().toISOString()
      const secret = body.secret ?? generateSecret()
      const stored: StoredWebhook = {
        id: newId(),
        url: checkWebhookUrl(body.url, deps.allow).href,
        events: body.events ?? [...BUILD_EVENT_TYPES],
        format: body.format ?? 'json',
        repo: body.repo ?? null,
        enabled: body.enabled ?? true,
        disabledReason: null,
        createdAt: now,
        createdBy: actor,
        updatedAt: now,
        secrets: [{ value: secret, expiresAt: null }]
      }
      await webhooks.create(stored)
      await audit(actor, 'create', stored.id, `subscribed ${new URL(stored.url).origin} to ${stored.events.join(', ')}${stored.repo ? ` of ${stored.repo}` : ''}`)
      return { ...toWebhookResource(stored), secret }
    },

    list: async (): Promise<Webhook[]> => (await webhooks.list()).map(toWebhookResource),

    get: async (id: string): Promise<Webhook> => toWebhookResource(await existing(id)),

    async update (id: string, changes: WebhookUpdate, actor: Actor): Promise<Webhook> {
      await existing(id)
      await webhooks.update(id, {
        ...changes,
        ...(changes.url === undefined ? {} : { url: checkWebhookUrl(changes.url, deps.allow).href }),
        // Turning a subscription back on clears why Slipway had turned it off.
        ...(changes.enabled === true ? { disabledReason: null } : {})
      })
      await audit(actor, 'update', id, `changed ${Object.keys(changes).join(', ')}`)
      return toWebhookResource(await existing(id))
    },

    async remove (id: string, actor: Actor): Promise<void> {
      if (!(await webhooks.remove(id))) throw new WebhookNotFound(id)
      await audit(actor, 'delete', id, 'deleted')
    },

    /** A new secret; the current ones keep signing beside it until the grace period ends. */
    async rotateSecret (id: string, rotation: SecretRotation, actor: Actor): Promise<Webhook> {
      const webhook = await existing(id)
      const secret = rotation.secret ?? generateSecret()
      const expiresAt = new Date(Date.now() + (rotation.graceSeconds ?? DEFAULT_GRACE_SECONDS) * 1000).toISOString()
      const kept = liveSecrets(webhook.secrets).map((value) => ({ value, expiresAt }))
      await webhooks.update(id, { secrets: [{ value: secret, expiresAt: null }, ...kept] })
      await audit(actor, 'rotate-secret', id, `new signing secret; the old one${kept.length === 1 ? '' : 's'} sign${kept.length === 1 ? 's' : ''} until ${expiresAt}`)
      return { ...toWebhookResource(await existing(id)), secret }
    },

    async deliveries (id: string, cursor: string | undefined, limit: number): Promise<{ items: Delivery[]; nextCursor: string | null }> {
      await existing(id)
      const page = await deliveries.listForWebhook(id, cursor, limit)
      return { items: page.items.map(toDeliveryResource), nextCursor: page.nextCursor }
    },

    async buildDeliveries (buildId: string, cursor: string | undefined, limit: number): Promise<{ items: Delivery[]; nextCursor: string | null }> {
      const page = await deliveries.listForBuild(buildId, cursor, limit)
      return { items: page.items.map(toDeliveryResource), nextCursor: page.nextCursor }
    },

    /** Sends a delivery again, with the same webhook-id and body, however it ended. */
    async redeliver (webhookId: string, deliveryId: string, actor: Actor): Promise<Delivery> {
      await existing(webhookId)
      const delivery = await deliveries.get(deliveryId)
      if (!delivery || delivery.webhookId !== webhookId) throw new DeliveryNotFound(webhookId, deliveryId, webhookId)
      await deliveries.setStatus(deliveryId, 'pending')
      await deps.queue.deliver(deliveryId, Date.now())
      await audit(actor, 'redeliver', webhookId, `redelivered ${deliveryId}`)
      return toDeliveryResource({ ...delivery, status: 'pending' })
    },

    /**
     * A build request's own subscriptions: checked, defaults filled, secrets made where none was
     * given. `stored` keeps the secrets (beside the build); `views` are what the build shows.
     */
    prepareBuildWebhooks (requested: BuildWebhook[] | undefined): { stored: StoredBuildWebhook[]; views: BuildWebhookView[] } {
      const stored = (requested ?? []).map((webhook) => ({
        url: checkWebhookUrl(webhook.url, deps.allow).href,
        events: webhook.events ?? [...BUILD_EVENT_TYPES],
        format: webhook.format ?? 'json',
        secret: webhook.secret ?? generateSecret()
      }))
      return { stored, views: stored.map(({ url, events, format }) => ({ url: new URL(url).origin, events, format })) }
    }
  }
}

export type WebhookService = ReturnType<typeof createWebhookService>
