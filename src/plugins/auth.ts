import rateLimit from '@fastify/rate-limit'
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import type { Redis } from 'ioredis'
import { holds, isAdminToken, type Principal, type Scope, type TokenStore } from '../auth/tokens.js'
import { Forbidden, RateLimited, Unauthenticated } from '../errors.js'

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal | null
  }
  interface FastifyContextConfig {
    /** The scope a route needs; a route without one is public (health, docs). */
    scope?: Scope
  }
}

const ADMIN: Principal = { tokenId: 'admin', name: 'SLIPWAY_ADMIN_TOKEN', scopes: ['admin'] }

/**
 * Bearer tokens and scopes on every route that names a scope, then a rate limit per token, kept
 * in Redis so it holds across API replicas. 401 says the caller is not known, 403 that it may not.
 */
export default fp(
  async function auth(fastify: FastifyInstance, options: { tokens: TokenStore; adminToken: string; rateLimitPerMinute: number; redis: Redis; nameSpace: string }) {
    fastify.decorateRequest('principal', null)
    fastify.addHook('onRequest', async (request, reply) => {
      const scope = request.routeOptions.config.scope
      if (!scope) return
      const presented = /^Bearer +(\S+)$/i.exec(request.headers.authorization ?? '')?.[1]
      reply.header('www-authenticate', 'Bearer realm="slipway"')
      if (!presented) {
        throw new Unauthenticated(request.headers.authorization ? 'The Authorization header is not "Bearer <token>".' : 'This route needs a token.')
      }
      const record = isAdminToken(presented, options.adminToken) ? ADMIN : await options.tokens.find(presented)
      if (!record) throw new Unauthenticated('The token is not known: mistyped, or revoked.')
      const principal = 'tokenId' in record ? record : { tokenId: record.id, name: record.name, scopes: record.scopes }
      if (!holds(principal, scope)) throw new Forbidden(scope, `${request.method} ${request.routeOptions.url}`)
      reply.removeHeader('www-authenticate')
      request.principal = principal
    })

    await fastify.register(rateLimit, {
      global: true,
      hook: 'preHandler',
      max: options.rateLimitPerMinute,
      timeWindow: 60_000,
      redis: options.redis,
      nameSpace: options.nameSpace,
      // A Redis outage is answered as such (503) by the route itself, not blamed on the caller.
      skipOnError: true,
      allowList: (request) => !request.routeOptions.config.scope,
      keyGenerator: (request) => request.principal?.tokenId ?? request.ip,
      errorResponseBuilder: (_request, context) => new RateLimited(String(context.max), context.after)
    })
  },
  { name: 'auth', dependencies: ['services'] }
)
