import { Type, type Static } from '@sinclair/typebox'
import { BUILD_EVENT_TYPES, WEBHOOK_FORMATS } from '../webhooks/event-types.js'
import { ActorSchema } from './audit.js'
import { Nullable, StringEnum, Timestamp } from './common.js'

const Url = Type.String({
  minLength: 1,
  maxLength: 2048,
  description: 'Where to POST: an http(s) URL on the public internet (private and local addresses only when the server allows them)'
})
const Events = Type.Array(StringEnum(BUILD_EVENT_TYPES), {
  minItems: 1,
  uniqueItems: true,
  description: 'Which events to send. Default: all of them.'
})
const Format = StringEnum(WEBHOOK_FORMATS, {
  description: 'json: the Standard Webhooks envelope { type, timestamp, sequence, data: build }; or a chat message shaped for that platform. Default: json.'
})
const Secret = Type.String({
  pattern: '^(whsec_)?[A-Za-z0-9+/=]{32,100}$',
  description: 'Signing secret (whsec_ + base64 of 24 to 64 bytes). Default: one Slipway makes, shown once in this answer.'
})
const RepoPattern = Type.String({
  minLength: 1,
  maxLength: 2048,
  description: 'Only builds of repositories matching this: host/path as in "github.com/acme/app", "*" matches any run of characters ("github.com/acme/*")'
})

export const WebhookCreateSchema = Type.Object(
  {
    url: Url,
    events: Type.Optional(Events),
    format: Type.Optional(Format),
    repo: Type.Optional(RepoPattern),
    enabled: Type.Optional(Type.Boolean({ description: 'Default: true' })),
    secret: Type.Optional(Secret)
  },
  { $id: 'WebhookCreate', additionalProperties: false, description: 'A subscription to the events of every build (or of the matching repositories)' }
)
export type WebhookCreate = Static<typeof WebhookCreateSchema>

export const WebhookUpdateSchema = Type.Object(
  {
    url: Type.Optional(Url),
    events: Type.Optional(Events),
    format: Type.Optional(Format),
    repo: Type.Optional(Nullable(RepoPattern)),
    enabled: Type.Optional(Type.Boolean())
  },
  { $id: 'WebhookUpdate', additionalProperties: false, minProperties: 1, description: 'The fields to change' }
)
export type WebhookUpdate = Static<typeof WebhookUpdateSchema>

export const SecretRotationSchema = Type.Object(
  {
    secret: Type.Optional(Secret),
    graceSeconds: Type.Optional(
      Type.Integer({ minimum: 0, maximum: 30 * 86_400, description: 'How long the old secret keeps signing alongside the new one. Default: 86400 (a day).' })
    )
  },
  { $id: 'SecretRotation', additionalProperties: false }
)
export type SecretRotation = Static<typeof SecretRotationSchema>

export const WebhookSchema = Type.Object(
  {
    id: Type.String(),
    url: Type.String(),
    events: Type.Array(StringEnum(BUILD_EVENT_TYPES)),
    format: Format,
    repo: Nullable(Type.String()),
    enabled: Type.Boolean(),
    disabledReason: Nullable(Type.String({ description: 'Why Slipway disabled it, e.g. the receiver answered 410 Gone' })),
    createdAt: Timestamp,
    createdBy: Nullable(Type.Ref(ActorSchema, { description: 'Who made it; null for subscriptions made before Slipway recorded it' })),
    updatedAt: Timestamp,
    secret: Type.Optional(Type.String({ description: 'The signing secret: only in the answer that created or rotated it, never again' }))
  },
  { $id: 'Webhook', additionalProperties: false }
)
export type Webhook = Static<typeof WebhookSchema>

export const WebhookListSchema = Type.Object({ items: Type.Array(Type.Ref(WebhookSchema)) }, { $id: 'WebhookList', additionalProperties: false })

/** One subscription given with a build request: it hears that build's events only. */
export const BuildWebhookSchema = Type.Object(
  { url: Url, events: Type.Optional(Events), format: Type.Optional(Format), secret: Type.Optional(Secret) },
  { $id: 'BuildWebhook', additionalProperties: false }
)
export type BuildWebhook = Static<typeof BuildWebhookSchema>

/** A build's own subscription as the build resource shows it: URL path and secret withheld. */
export const BuildWebhookViewSchema = Type.Object(
  {
    url: Type.String({ description: 'Scheme and host only: the path of a chat webhook URL is a credential' }),
    events: Type.Array(StringEnum(BUILD_EVENT_TYPES)),
    format: Format,
    secret: Type.Optional(Type.String({ description: 'The signing secret: only in the answer to the POST that created the build' }))
  },
  { $id: 'BuildWebhookView', additionalProperties: false }
)
export type BuildWebhookView = Static<typeof BuildWebhookViewSchema>

export const DeliveryAttemptSchema = Type.Object(
  {
    at: Timestamp,
    statusCode: Nullable(Type.Integer({ description: "The receiver's HTTP status; null when no answer came" })),
    durationMs: Type.Integer(),
    error: Nullable(Type.String({ description: 'Why the attempt failed (timeout, connection refused, a redirect, …)' })),
    response: Nullable(Type.String({ description: 'The first bytes of the answer' }))
  },
  { $id: 'DeliveryAttempt', additionalProperties: false }
)
export type DeliveryAttempt = Static<typeof DeliveryAttemptSchema>

export const DELIVERY_TYPES = ['webhook', 'commit-status', 'pull-request-comment'] as const

export const DeliverySchema = Type.Object(
  {
    id: Type.String({ description: 'Also the webhook-id header, as msg_<id>: the same on every attempt' }),
    type: StringEnum(DELIVERY_TYPES, {
      description:
        "webhook: an event to a subscription; commit-status: the build's status set on the commit (the request's `report`); pull-request-comment: the comment kept on the pull or merge request"
    }),
    webhookId: Nullable(Type.String({ description: 'The subscription; null for a subscription given with the build, and for reports' })),
    buildId: Type.String(),
    event: StringEnum(BUILD_EVENT_TYPES),
    sequence: Type.Integer({ description: 'Order of the event within its build: receivers use it to ignore an older event arriving late' }),
    url: Type.String({ description: "Where it goes: the receiver's origin (scheme, host and port), or the forge API's base URL" }),
    status: StringEnum(['pending', 'delivered', 'failed', 'abandoned'] as const, {
      description:
        'abandoned: the receiver answered 410 Gone, or the subscription was disabled or deleted; for a report, also: a later status or a newer build\'s comment made it stale, or its token may no longer be used'
    }),
    createdAt: Timestamp,
    attempts: Type.Array(Type.Ref(DeliveryAttemptSchema))
  },
  { $id: 'Delivery', additionalProperties: false }
)
export type Delivery = Static<typeof DeliverySchema>

export const DeliveryListSchema = Type.Object(
  { items: Type.Array(Type.Ref(DeliverySchema)), nextCursor: Nullable(Type.String()) },
  { $id: 'DeliveryList', additionalProperties: false }
)

export const webhookSchemas = [
  WebhookCreateSchema,
  WebhookUpdateSchema,
  SecretRotationSchema,
  WebhookSchema,
  WebhookListSchema,
  BuildWebhookSchema,
  BuildWebhookViewSchema,
  DeliveryAttemptSchema,
  DeliverySchema,
  DeliveryListSchema
]
