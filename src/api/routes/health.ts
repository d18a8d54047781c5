import type { FastifyInstance } from 'fastify'
import { checkReadiness, type Dependencies } from '../../metrics/reachability.js'
import { HealthSchema, ReadinessSchema } from '../../domain/schemas/health.js'

/** Liveness and readiness of this process, checked against what it depends on. */
export default async function healthRoutes (fastify: FastifyInstance, options: { dependencies: Dependencies }) {
  fastify.get(
    '/healthz',
    { schema: { tags: ['service'], summary: 'Liveness: the process answers', response: { 200: HealthSchema } } },
    async () => ({ status: 'ok' })
  )

  fastify.get(
    '/readyz',
    {
      schema: {
        tags: ['service'],
        summary: 'Readiness: Redis answers, and so does Docker where this process builds',
        description:
          '503 names the part that does not answer (`false`), or, on a worker that takes no builds for lack of disk space, says why (`paused`). Each probe gives up after 2 s.',
        response: { 200: ReadinessSchema, 503: ReadinessSchema }
      }
    },
    async (_request, reply) => {
      const readiness = await checkReadiness(options.dependencies)
      return reply.code(readiness.status === 'ready' ? 200 : 503).send(readiness)
    }
  )
}
