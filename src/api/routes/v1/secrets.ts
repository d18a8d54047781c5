import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { SecretNotFound, SecretsDisabled, SecretValueInvalid } from '../../../domain/errors.js'
import { SecretCreateSchema, SecretListSchema, SecretReencryptResultSchema, SecretSchema, SecretUpdateSchema } from '../../../domain/schemas/secret.js'
import { SECRET_ID_PATTERN } from '../../../domain/secrets/secret-ids.js'
import { SECRETS_KEY_HINT } from '../../../domain/secrets/secret-key.js'
import type { SecretStore } from '../../../storage/secrets.js'
import { actorOf } from '../../plugins/auth.js'
import { errors } from './common.js'

const SecretIdParams = Type.Object({ id: Type.String({ pattern: SECRET_ID_PATTERN, description: 'The secret id' }) })
const tags = ['secrets']

/** A value as the body writes it; base64 is checked strictly, so a typo is refused rather than stored as other bytes. */
function valueOf (value: string, encoding: 'utf8' | 'base64' = 'utf8'): Buffer {
  if (encoding === 'utf8') return Buffer.from(value, 'utf8')
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(value) || value.length % 4 !== 0) {
    throw new SecretValueInvalid('The value is not base64 (encoding: base64): give the bytes as standard base64 with padding, as `base64 -w0 FILE` writes them.')
  }
  return Buffer.from(value, 'base64')
}

/**
 * Secrets and SSH keys Slipway holds for builds (`secrets:admin`). Values go in and never come
 * out: no answer, log line or audit entry carries one. Without SLIPWAY_SECRETS_KEY every route
 * answers 503 SECRETS_DISABLED.
 */
export default async function secretRoutes (instance: FastifyInstance) {
  const fastify = instance.withTypeProvider<TypeBoxTypeProvider>()
  const config = { scope: 'secrets:admin' as const }

  const store = (_request?: FastifyRequest): SecretStore => {
    if (!fastify.secrets) throw new SecretsDisabled(SECRETS_KEY_HINT)
    return fastify.secrets
  }
  // Checked after the token: a caller without the scope learns nothing of the server's settings.
  fastify.addHook('preValidation', async (request) => {
    store(request)
  })

  fastify.post(
    '/secrets',
    {
      config,
      schema: {
        tags,
        summary: 'Hold a secret or an SSH key for builds',
        description:
          'Builds of the repositories in `repos`, made with one of `tokens` (any token when empty), may then name it in `secrets` (kind secret: mounted at ' +
          '/run/secrets/<id> by `RUN --mount=type=secret,id=<id>`) or `ssh` (kind ssh: offered through an SSH agent to `RUN --mount=type=ssh`). ' +
          'The value is encrypted at rest (AES-256-GCM under SLIPWAY_SECRETS_KEY) and never shown again: the answer has its size only. ' +
          'A taken id is 409 SECRET_EXISTS; an ssh value that is not a private key, 400 SECRET_VALUE_INVALID; a bad pattern, 400 SECRET_REPO_PATTERN_INVALID.',
        body: Type.Ref(SecretCreateSchema),
        response: { 201: Type.Ref(SecretSchema), ...errors(400, 409, 503) }
      }
    },
    async (request, reply) => {
      const { id, kind = 'secret', value, encoding, repos, tokens = [] } = request.body
      const secret = await store().create({ id, kind, value: valueOf(value, encoding), repos, tokens }, actorOf(request))
      return reply.code(201).header('location', `/v1/secrets/${encodeURIComponent(id)}`).send(secret)
    }
  )

  fastify.get(
    '/secrets',
    { config, schema: { tags, summary: 'List secrets (never their values)', response: { 200: Type.Ref(SecretListSchema), ...errors(503) } } },
    async () => ({ items: await store().list() })
  )

  fastify.post(
    '/secrets/reencrypt',
    {
      config: { scope: 'admin' as const },
      schema: {
        tags,
        summary: 'Seal every value with the current key (after a key rotation)',
        description:
          'To rotate SLIPWAY_SECRETS_KEY: set the new key as SLIPWAY_SECRETS_KEY and the old one as SLIPWAY_SECRETS_KEY_PREVIOUS on every API process and worker, ' +
          'call this, then remove SLIPWAY_SECRETS_KEY_PREVIOUS. Values sealed with the previous key are sealed anew with the current one; the answer says how many, ' +
          'and names those neither key opens. Safe to repeat. Needs the admin scope.',
        response: { 200: Type.Ref(SecretReencryptResultSchema), ...errors(503) }
      }
    },
    async (request) => store().reencrypt(actorOf(request))
  )

  fastify.get(
    '/secrets/:id',
    { config, schema: { tags, summary: 'Get a secret (never its value)', params: SecretIdParams, response: { 200: Type.Ref(SecretSchema), ...errors(404, 503) } } },
    async (request) => {
      const secret = await store().get(request.params.id)
      if (!secret) throw new SecretNotFound(request.params.id)
      return secret
    }
  )

  fastify.patch(
    '/secrets/:id',
    {
      config,
      schema: {
        tags,
        summary: 'Change a secret: its value, repositories or tokens',
        description: 'Each field given replaces the old one. Builds already queued use the secret as it is when they start: the worker checks again, and opens the value then.',
        params: SecretIdParams,
        body: Type.Ref(SecretUpdateSchema),
        response: { 200: Type.Ref(SecretSchema), ...errors(400, 404, 503) }
      }
    },
    async (request) => {
      const { value, encoding, repos, tokens } = request.body
      const changes = { value: value === undefined ? undefined : valueOf(value, encoding), repos, tokens }
      const secret = await store().update(request.params.id, changes, actorOf(request))
      if (!secret) throw new SecretNotFound(request.params.id)
      return secret
    }
  )

  fastify.delete(
    '/secrets/:id',
    {
      config,
      schema: {
        tags,
        summary: 'Delete a secret',
        description: 'At once: queued builds that name it fail to start with SECRET_NOT_ALLOWED, and new requests naming it are refused so.',
        params: SecretIdParams,
        response: { 204: Type.Null(), ...errors(404, 503) }
      }
    },
    async (request, reply) => {
      if (!(await store().remove(request.params.id, actorOf(request)))) throw new SecretNotFound(request.params.id)
      return reply.code(204).send(null)
    }
  )
}
