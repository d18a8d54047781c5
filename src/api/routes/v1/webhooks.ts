import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import type { FastifyInstance } from 'fastify'
import {
  DeliveryListSchema,
  DeliverySchema,
  SecretRotationSchema,
  WebhookCreateSchema,
  WebhookListSchema,
  WebhookSchema,
  WebhookUpdateSchema
} from '../../../domain/schemas/webhook.js'
import { actorOf } from '../../plugins/auth.js'
import { BuildIdParams, errors } from './common.js'

const WebhookIdParams = Type.Object({ id: Type.String({ description: 'The webhook id' }) })
const PageQuery = Type.Object(
  {
    cursor: Type.Optional(Type.String({ pattern: '^[0-9A-Z_.]+$', description: 'nextCursor of the previous page' })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100, default: 20 }))
  },
  { additionalProperties: false }
)

export default async function webhookRoutes (instance: FastifyInstance) {
  const fastify = instance.withTypeProvider<TypeBoxTypeProvider>()
  const tags = ['webhooks']
  const config = { scope: 'webhooks:admin' as const }

  fastify.post(
    '/webhooks',
    {
      config,
      schema: {
        tags,
        summary: 'Subscribe to build events',
        description:
          'Every event of every build (or of the builds of matching repositories) is POSTed to `url`, signed per the ' +
          'Standard Webhooks specification (headers webhook-id, webhook-timestamp, webhook-signature). The answer holds ' +
          'the signing secret; it is never shown again.',
        body: Type.Ref(WebhookCreateSchema),
        response: { 201: Type.Ref(WebhookSchema), ...errors(400, 503) }
      }
    },
    async (request, reply) => {
      const webhook = await fastify.webhooks.create(request.body, actorOf(request))
      return reply.code(201).header('location', `/v1/webhooks/${webhook.id}`).send(webhook)
    }
  )

  fastify.get(
    '/webhooks',
    { config, schema: { tags, summary: 'List webhook subscriptions', response: { 200: Type.Ref(WebhookListSchema), ...errors(503) } } },
    async () => ({ items: await fastify.webhooks.list() })
  )

  fastify.get(
    '/webhooks/:id',
    { config, schema: { tags, summary: 'Get a webhook subscription', params: WebhookIdParams, response: { 200: Type.Ref(WebhookSchema), ...errors(404, 503) } } },
    async (request) => fastify.webhooks.get(request.params.id)
  )

  fastify.patch(
    '/webhooks/:id',
    {
      config,
      schema: {
        tags,
        summary: 'Change a webhook subscription',
        description: 'Set `enabled: true` to turn back on a subscription Slipway turned off (its receiver answered 410 Gone).',
        params: WebhookIdParams,
        body: Type.Ref(WebhookUpdateSchema),
        response: { 200: Type.Ref(WebhookSchema), ...errors(400, 404, 503) }
      }
    },
    async (request) => fastify.webhooks.update(request.params.id, request.body, actorOf(request))
  )

  fastify.delete(
    '/webhooks/:id',
    {
      config,
      schema: {
        tags,
        summary: 'Delete a webhook subscription',
        params: WebhookIdParams,
        response: { 204: Type.Null(), ...errors(404, 503) }
      }
    },
    async (request, reply) => {
      await fastify.webhooks.remove(request.params.id, actorOf(request))
      return reply.code(204).send(null)
    }
  )

  fastify.post(
    '/webhooks/:id/rotate-secret',
    {
      config,
      schema: {
        tags,
        summary: "Rotate a subscription's signing secret",
        description:
          'Makes a new secret (or takes the one given). Until the grace period ends, deliveries carry a signature with the ' +
          'old secret and one with the new, so receivers can switch without missing any.',
        params: WebhookIdParams,
        body: Type.Ref(SecretRotationSchema),
        response: { 200: Type.Ref(WebhookSchema), ...errors(400, 404, 503) }
      }
    },
    async (request) => fastify.webhooks.rotateSecret(request.params.id, request.body, actorOf(request))
  )

  fastify.get(
    '/webhooks/:id/deliveries',
    {
      config,
      schema: {
        tags,
        summary: "A subscription's deliveries, newest first, with every attempt",
        params: WebhookIdParams,
        querystring: PageQuery,
        response: { 200: Type.Ref(DeliveryListSchema), ...errors(400, 404, 503) }
      }
    },
    async (request) => fastify.webhooks.deliveries(request.params.id, request.query.cursor, request.query.limit ?? 20)
  )

  fastify.post(
    '/webhooks/:id/deliveries/:deliveryId/redeliver',
    {
      config,
      schema: {
        tags,
        summary: 'Send a delivery again',
        description: 'Same webhook-id and body as before, newly signed; retried like a first delivery.',
        params: Type.Object({ id: Type.String(), deliveryId: Type.String() }),
        response: { 202: Type.Ref(DeliverySchema), ...errors(404, 503) }
      }
    },
    async (request, reply) => reply.code(202).send(await fastify.webhooks.redeliver(request.params.id, request.params.deliveryId, actorOf(request)))
  )

  fastify.get(
    '/builds/:id/deliveries',
    {
      config: { scope: 'builds:read' },
      schema: {
        tags,
        summary: "A build's webhook deliveries, newest first, with every attempt",
        params: BuildIdParams,
        querystring: PageQuery,
        response: { 200: Type.Ref(DeliveryListSchema), ...errors(400, 404, 503) }
      }
    },
    async (request) => {
      await fastify.builds.get(request.params.id)
      return fastify.webhooks.buildDeliveries(request.params.id, request.query.cursor, request.query.limit ?? 20)
    }
  )
}
