import { Type } from '@sinclair/typebox'
import type { FastifyInstance } from 'fastify'
import { checkReadiness, type Dependencies } from '../metrics/reachability.js'

const Health = Type.Object({ status: Type.String() }, { additionalProperties: false })
const Readiness = Type.Object(
  {
    status: Type.Union([Type.Literal('ready'), Type.Literal('unavailable')]),
    redis: Type.Boolean({ description: 'Whether this process reaches Redis' }),
    docker: Type.Union([Type.Boolean(), Type.Null()], {
      description: 'Whether this process reaches the Docker Engine it builds on; null in an API-only process (SLIPWAY_ROLE=api), which never uses Docker'
    })
  },
  { additionalProperties: false }
)

/** Liveness and readiness of this process, checked against what it depends on. */
export default async function healthRoutes(fastify: FastifyInstance, options: { dependencies: Dependencies }) {
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
        summary: 'Readiness: Redis answers, and so does Docker where this process builds',
        description: '503 names the part that does not answer (`false`). Each probe gives up after 2 s.',
        response: { 200: Readiness, 503: Readiness }
      }
    },
    async (_request, reply) => {
      const readiness = await checkReadiness(options.dependencies)
      return reply.code(readiness.status === 'ready' ? 200 : 503).send(readiness)
    }
  )
}
