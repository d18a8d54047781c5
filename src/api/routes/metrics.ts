import type { FastifyInstance } from 'fastify'
import type { Registry } from 'prom-client'

/** The process's metrics in the Prometheus text format. Counts only: no ids, URLs or secrets. */
export default async function metricsRoutes (fastify: FastifyInstance, options: { registry: Registry }) {
  fastify.get(
    '/metrics',
    {
      schema: {
        tags: ['service'],
        summary: 'Metrics for Prometheus',
        description:
          'Builds by status and jobs by queue state (read from Redis, the same from every API process), phase durations, ' +
          'queue waits, build outcomes and webhook delivery attempts (counted by the worker in this process), and ' +
          'whether Redis and Docker answer. Needs no token. docs/operations/metrics.md lists every metric.',
        response: { 200: { description: 'Prometheus text exposition format 0.0.4', content: { 'text/plain': { schema: { type: 'string' } } } } }
      }
    },
    async (_request, reply) => reply.type(options.registry.contentType).send(await options.registry.metrics())
  )
}
