import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import type { FastifyInstance } from 'fastify'
import { BuildListQuerySchema, BuildListSchema, BuildRequestSchema, BuildSchema } from '../../schemas/build.js'
import { parseIdempotencyKey } from '../../builds/idempotency.js'
import { BuildIdParams, errors } from './common.js'


export default async function buildRoutes(instance: FastifyInstance) {
  const fastify = instance.withTypeProvider<TypeBoxTypeProvider>()

  fastify.post(
    '/builds',
    {
      config: { scope: 'builds:write' },
      schema: {
        tags: ['builds'],
        summary: 'Submit a build',
        description:
          'Stores and queues a build of the repository. Answers 202 at once with the build (status `queued`) and its ' +
          'URL in `Location`; poll it, or read its log, to follow it.\n\n' +
          'With an `Idempotency-Key` header, sending the same request again (a retry after a timeout) returns the build ' +
          'the first one made (`Idempotent-Replayed: true`); the same key with another body is refused with 422. Keys ' +
          'live a day.\n\nA request identical to a build that is still queued or running joins it ' +
          '(`Slipway-Joined: true`) unless it says `force` or `supersede`.',
        headers: Type.Object({
          'idempotency-key': Type.Optional(Type.String({ description: 'Makes retries of this request safe (IETF httpapi draft)' }))
        }),
        body: Type.Ref(BuildRequestSchema),
        response: { 202: Type.Ref(BuildSchema), ...errors(400, 409, 413, 415, 422, 503) }
      }
    },
    async (request, reply) => {
      const key = request.headers['idempotency-key']
      const { build, replayed, joined } = await fastify.builds.submit(request.body, key === undefined ? undefined : parseIdempotencyKey(key))
      if (replayed) reply.header('idempotent-replayed', 'true')
      if (joined) reply.header('slipway-joined', 'true')
      return reply.code(202).header('location', build.links.self).send(build)
    }
  )

  fastify.post(
    '/builds/:id/cancel',
    {
      config: { scope: 'builds:write' },
      schema: {
        tags: ['builds'],
        summary: 'Cancel a build',
        description:
          'A queued build is taken off the queue and ends `canceled` at once. A running one is stopped by its worker ' +
          '(git and Docker aborted, the build container removed) within seconds, then ends `canceled`. An ended build ' +
          'answers 409 BUILD_FINISHED.',
        params: BuildIdParams,
        response: { 202: Type.Ref(BuildSchema), ...errors(404, 409, 503) }
      }
    },
    async (request, reply) => reply.code(202).send(await fastify.builds.cancel(request.params.id))
  )

  fastify.post(
    '/builds/:id/retry',
    {
      config: { scope: 'builds:write' },
      schema: {
        tags: ['builds'],
        summary: 'Retry an ended build',
        description:
          'Makes a new build of the same request, pinned to the commit the first one built, so the retry builds what ' +
          'failed rather than what the branch points at now. `retryOf` links the two.',
        params: BuildIdParams,
        response: { 202: Type.Ref(BuildSchema), ...errors(404, 409, 503) }
      }
    },
    async (request, reply) => {
      const build = await fastify.builds.retry(request.params.id)
      return reply.code(202).header('location', build.links.self).send(build)
    }
  )

  fastify.get(
    '/builds',
    {
      config: { scope: 'builds:read' },
      schema: {
        tags: ['builds'],
        summary: 'List builds, newest first',
        querystring: BuildListQuerySchema,
        response: { 200: Type.Ref(BuildListSchema), ...errors(400, 503) }
      }
    },
    async (request) => {
      const { status, repo, cursor, limit = 20 } = request.query
      return fastify.builds.list({ status, repo, cursor, limit })
    }
  )

  fastify.get(
    '/builds/:id',
    {
      config: { scope: 'builds:read' },
      schema: {
        tags: ['builds'],
        summary: 'Get a build: its status, phases, image and error',
        params: BuildIdParams,
        response: { 200: Type.Ref(BuildSchema), ...errors(404, 503) }
      }
    },
    async (request) => fastify.builds.get(request.params.id)
  )
}
