import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import type { FastifyInstance } from 'fastify'
import { BuildListQuerySchema, BuildListSchema, BuildRequestSchema, BuildSchema } from '../../schemas/build.js'
import { BuildIdParams, errors } from './common.js'


export default async function buildRoutes(instance: FastifyInstance) {
  const fastify = instance.withTypeProvider<TypeBoxTypeProvider>()

  fastify.post(
    '/builds',
    {
      schema: {
        tags: ['builds'],
        summary: 'Submit a build',
        description:
          'Stores and queues a build of the repository. Answers 202 at once with the build (status `queued`) and its ' +
          'URL in `Location`; poll it, or read its log, to follow it.',
        body: Type.Ref(BuildRequestSchema),
        response: { 202: Type.Ref(BuildSchema), ...errors(400, 413, 415, 503) }
      }
    },
    async (request, reply) => {
      const build = await fastify.builds.submit(request.body)
      return reply.code(202).header('location', build.links.self).send(build)
    }
  )

  fastify.get(
    '/builds',
    {
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
