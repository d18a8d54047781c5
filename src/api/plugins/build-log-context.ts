import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'

// Build ids are ULIDs (src/ids.ts): anything else in a path is not a build, and is not logged as one.
const BUILD_ID = /^[0-9A-Z]{26}$/
const BUILD_LOCATION = /^\/v1\/builds\/([0-9A-Z]{26})$/

/**
 * Every log line written while answering a request about a build carries `buildId`, as the
 * worker's lines about it do, so one filter finds a build's whole story: the build in the path
 * (/v1/builds/{id}/…), or the build a POST made (its Location).
 */
export default fp(
  async function buildLogContext (fastify: FastifyInstance) {
    // Hooks with callbacks, not async ones: they run on every request, and an async hook costs a
    // promise and a turn of the microtask queue each time, for a check that is over at once.
    fastify.addHook('onRequest', (request, reply, done) => {
      if (request.routeOptions.url?.startsWith('/v1/builds/:id')) {
        const { id } = request.params as { id?: string }
        if (id && BUILD_ID.test(id)) bind(request, reply, id)
      }
      done()
    })
    fastify.addHook('onSend', (request, reply, payload, done) => {
      if (request.routeOptions.url === '/v1/builds') {
        const created = BUILD_LOCATION.exec(String(reply.getHeader('location') ?? ''))?.[1]
        if (created) bind(request, reply, created)
      }
      done(null, payload)
    })
  },
  { name: 'build-log-context' }
)

function bind (request: FastifyRequest, reply: FastifyReply, buildId: string): void {
  request.log = request.log.child({ buildId })
  reply.log = request.log
}
