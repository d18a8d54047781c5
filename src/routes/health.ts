import { Type } from '@sinclair/typebox'
import type { FastifyInstance } from 'fastify'

const Health = Type.Object({ status: Type.String() }, { additionalProperties: false })
const Readiness = Type.Object(
  { status: Type.Union([Type.Literal('ready'), Type.Literal('unavailable')]), redis: Type.Boolean() },
  { additionalProperties: false }
)

export default async function healthRoutes(fastify: FastifyInstance) {
  fastify.get(
    '/healthz',
    { schema: { tags: ['service'], summary: 'Liveness: the process answers', response: { 200: Health } } },
    async () => ({ status: 'ok' })
  )

  fastify.get(
    '/readyz',
    {
      schema: {
        tags: ['service'],
        summary: 'Readiness: Redis answers, so builds can be accepted',
        response: { 200: Readiness, 503: Readiness }
      }
    },
    async (_request, reply) => {
      const redis = await fastify.redis.ping().then(
        () => true,
        () => false
      )
      return reply.code(redis ? 200 : 503).send({ status: redis ? 'ready' : 'unavailable', redis })
    }
  )
}
