import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import type { FastifyInstance } from 'fastify'
import {
  TRIGGER_PROVIDERS,
  TriggerCreateSchema,
  TriggerEventResultSchema,
  TriggerListSchema,
  TriggerSchema,
  TriggerUpdateSchema
} from '../../../domain/schemas/trigger.js'
import { actorOf, pushGrantOf } from '../../plugins/auth.js'
import { errors } from './common.js'

const TriggerIdParams = Type.Object({ id: Type.String({ description: 'The trigger rule id' }) })
const tags = ['triggers']

export default async function triggerRoutes (instance: FastifyInstance) {
  const fastify = instance.withTypeProvider<TypeBoxTypeProvider>()
  const config = { scope: 'triggers:admin' as const }

  fastify.post(
    '/triggers',
    {
      config,
      schema: {
        tags,
        summary: 'Create a trigger rule',
        description:
          'Pushes to the matching branches of the repository start a build with the rule\'s options, at the pushed commit. ' +
          'The answer holds the secret to paste into the GitHub or GitLab webhook, and `eventsUrl`, its URL; the secret is never shown again. ' +
          "The rule's builds may push only where the token that makes (or later changes) it may: its patterns are recorded as `pushAllow`, " +
          'and a build image outside them is 403 IMAGE_NOT_ALLOWED.',
        body: Type.Ref(TriggerCreateSchema),
        response: { 201: Type.Ref(TriggerSchema), ...errors(400, 503) }
      }
    },
    async (request, reply) => {
      const trigger = await fastify.triggers.create(request.body, pushGrantOf(request), actorOf(request))
      return reply.code(201).header('location', `/v1/triggers/${trigger.id}`).send(trigger)
    }
  )

  fastify.get(
    '/triggers',
    { config, schema: { tags, summary: 'List trigger rules', response: { 200: Type.Ref(TriggerListSchema), ...errors(503) } } },
    async () => ({ items: await fastify.triggers.list() })
  )

  fastify.get(
    '/triggers/:id',
    { config, schema: { tags, summary: 'Get a trigger rule', params: TriggerIdParams, response: { 200: Type.Ref(TriggerSchema), ...errors(404, 503) } } },
    async (request) => fastify.triggers.get(request.params.id)
  )

  fastify.patch(
    '/triggers/:id',
    {
      config,
      schema: {
        tags,
        summary: 'Change a trigger rule',
        params: TriggerIdParams,
        body: Type.Ref(TriggerUpdateSchema),
        response: { 200: Type.Ref(TriggerSchema), ...errors(400, 404, 503) }
      }
    },
    async (request) => fastify.triggers.update(request.params.id, request.body, pushGrantOf(request), actorOf(request))
  )

  fastify.delete(
    '/triggers/:id',
    { config, schema: { tags, summary: 'Delete a trigger rule', params: TriggerIdParams, response: { 204: Type.Null(), ...errors(404, 503) } } },
    async (request, reply) => {
      await fastify.triggers.remove(request.params.id, actorOf(request))
      return reply.code(204).send(null)
    }
  )

  await fastify.register(eventRoutes)
}

const EVENT_HEADERS = {
  github: Type.Object({
    'x-github-event': Type.Optional(Type.String({ description: 'push starts builds; ping is answered 200; others are ignored' })),
    'x-github-delivery': Type.Optional(Type.String({ description: 'The delivery id: a redelivery of one already handled starts nothing' })),
    'x-hub-signature-256': Type.Optional(Type.String({ description: 'sha256=<hex HMAC-SHA256 of the body, keyed with the rule secret>' }))
  }),
  gitlab: Type.Object({
    'x-gitlab-event': Type.Optional(Type.String({ description: '"Push Hook" starts builds; others are ignored' })),
    'idempotency-key': Type.Optional(Type.String({ description: 'The delivery id, kept across retries (GitLab 17.4+); else X-Gitlab-Event-UUID' })),
    'x-gitlab-event-uuid': Type.Optional(Type.String({ description: 'The event id' })),
    'x-gitlab-token': Type.Optional(Type.String({ description: "The rule's secret, as GitLab's \"Secret token\"" }))
  })
}

/**
 * The endpoints GitHub and GitLab call. Their authentication is the event's signature (or token),
 * not a Slipway token, and GitHub signs the body's exact bytes: so, in this plugin only, bodies
 * are kept as they came, and parsed once verified.
 */
async function eventRoutes (instance: FastifyInstance) {
  const fastify = instance.withTypeProvider<TypeBoxTypeProvider>()
  fastify.removeAllContentTypeParsers()
  fastify.addContentTypeParser(['application/json', 'application/x-www-form-urlencoded'], { parseAs: 'buffer' }, (_request, body, done) => done(null, body))

  for (const provider of TRIGGER_PROVIDERS) {
    const name = provider === 'github' ? 'GitHub' : 'GitLab'
    fastify.post(
      `/triggers/${provider}`,
      {
        schema: {
          tags,
          summary: `Receive a ${name} push event`,
          description:
            `The URL of a ${name} webhook. Needs no Slipway token: the event is checked against the secrets of the trigger rules of its ` +
            (provider === 'github' ? 'repository (X-Hub-Signature-256 over the raw body; content type JSON or form).' : 'project (X-Gitlab-Token).') +
            ' A push to a branch starts one build per enabled matching rule (202, `started`); a delivery handled before ' +
            'starts nothing and answers the builds it started (200, `duplicate`); other events start nothing (`ignored`, with a reason).',
          headers: EVENT_HEADERS[provider],
          response: { 200: Type.Ref(TriggerEventResultSchema), 202: Type.Ref(TriggerEventResultSchema), ...errors(400, 404, 409, 413, 415, 503) }
        }
      },
      async (request, reply) => {
        const outcome = await fastify.triggers.receive(provider, { headers: request.headers, body: request.body as Buffer })
        return reply.code(outcome.statusCode).send(outcome.result)
      }
    )
  }
}
