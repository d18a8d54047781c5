import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import type { FastifyInstance } from 'fastify'
import { TokenNotFound } from '../../../domain/errors.js'
import { TokenCreateSchema, TokenListSchema, TokenSchema } from '../../../domain/schemas/token.js'
import { actorOf } from '../../plugins/auth.js'
import { errors } from './common.js'

export default async function tokenRoutes (instance: FastifyInstance) {
  const fastify = instance.withTypeProvider<TypeBoxTypeProvider>()
  const tags = ['tokens']
  const config = { scope: 'admin' as const }

  fastify.post(
    '/tokens',
    {
      config,
      schema: {
        tags,
        summary: 'Make an API token',
        description:
          'The answer holds the token itself; only its hash is kept, so it is never shown again. `pushAllow` limits where its ' +
          'builds (and the trigger rules it writes) may push; without it, SLIPWAY_PUSH_ALLOW applies. A bad pattern is 400 PUSH_PATTERN_INVALID.',
        body: Type.Ref(TokenCreateSchema),
        response: { 201: Type.Ref(TokenSchema), ...errors(400, 503) }
      }
    },
    async (request, reply) => {
      const { name, scopes, pushAllow = null } = request.body
      const { token, record } = await fastify.tokens.create(name, scopes, pushAllow, actorOf(request))
      return reply.code(201).send({ ...record, token })
    }
  )

  fastify.get(
    '/tokens',
    { config, schema: { tags, summary: 'List API tokens (never the tokens themselves)', response: { 200: Type.Ref(TokenListSchema), ...errors(503) } } },
    async () => ({ items: await fastify.tokens.list() })
  )

  fastify.delete(
    '/tokens/:id',
    {
      config,
      schema: {
        tags,
        summary: 'Revoke an API token, at once and everywhere',
        params: Type.Object({ id: Type.String() }),
        response: { 204: Type.Null(), ...errors(404, 503) }
      }
    },
    async (request, reply) => {
      if (!(await fastify.tokens.revoke(request.params.id, actorOf(request)))) throw new TokenNotFound(request.params.id)
      return reply.code(204).send(null)
    }
  )
}
