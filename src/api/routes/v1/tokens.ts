import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import type { FastifyInstance } from 'fastify'
import { TokenNotFound } from '../../../domain/errors.js'
import { ANY_TOKEN } from '../../../domain/auth/tokens.js'
import { TokenCreateSchema, TokenListSchema, TokenSchema, TokenSelfSchema, type TokenSelf } from '../../../domain/schemas/token.js'
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

  fastify.get(
    '/tokens/self',
    {
      config: { scope: ANY_TOKEN },
      schema: {
        tags,
        summary: 'The token this request presents: its name, scopes and expiry',
        description:
          'Any token may ask, whatever its scopes, and learns only about itself: never the token, its hash, or other tokens. ' +
          "A client (the portal) uses it to say who is signed in and to offer only what the token may do. SLIPWAY_ADMIN_TOKEN answers as id 'admin'.",
        response: { 200: Type.Ref(TokenSelfSchema), ...errors(503) }
      }
    },
    async (request): Promise<TokenSelf> => {
      const principal = request.principal
      // The hook admitted a token before this runs; without one it answered 401.
      if (!principal) throw new Error('GET /v1/tokens/self ran without a principal')
      return { id: principal.tokenId, name: principal.name, scopes: principal.scopes, pushAllow: principal.pushAllow, expiresAt: null, createdAt: principal.createdAt }
    }
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
      fastify.tokenAdmission.revoked()
      return reply.code(204).send(null)
    }
  )
}
