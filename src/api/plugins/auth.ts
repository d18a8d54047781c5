import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import fp from 'fastify-plugin'
import { holds, type Principal, type RouteScope } from '../../domain/auth/tokens.js'
import type { AuthEventHandlers } from '../../storage/auth-events.js'
import type { TokenStore } from '../../storage/token-store.js'
import { claimBatch, createTokenAdmission, type Admission, type TokenAdmission } from '../../services/token-admission.js'
import { grantOf, tokenLimit, type PushGrant, type PushLimit, type PushPolicy } from '../../domain/builds/push-allow.js'
import { clientOf } from '../../domain/client-address.js'
import { AuthFailuresLimited, Forbidden, RateLimited, Unauthenticated } from '../../domain/errors.js'
import type { Actor } from '../../domain/schemas/audit.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** What this process knows of tokens; `revoked()` after revoking one here. */
    tokenAdmission: TokenAdmission
  }
  interface FastifyRequest {
    principal: Principal | null
    /** Where the principal's builds may push. */
    pushGrant: PushGrant | null
  }
  interface FastifyContextConfig {
    /** The scope a route needs (ANY_TOKEN: any valid token); a route without one is public (health, docs). */
    scope?: RouteScope
  }
}

const RATE_WINDOW_MS = 60_000

/** Who made a request that needed a token, as the audit trail and the resources it made name it. */
export function actorOf (request: FastifyRequest): Actor {
  const principal = request.principal
  // Only routes with a scope record anything, and those never run without a principal.
  if (!principal) throw new Error(`${request.method} ${request.routeOptions.url} has no scope, so no actor`)
  return { kind: 'token', id: principal.tokenId, name: principal.name, deliveryId: null }
}

/** Where the token of a request that needed one may push. */
export function pushGrantOf (request: FastifyRequest): PushGrant {
  if (!request.pushGrant) throw new Error(`${request.method} ${request.routeOptions.url} has no scope, so no push grant`)
  return request.pushGrant
}

/** Who made a request, and the limits its builds' pushes are held to, as the build service takes them. */
export function senderOf (request: FastifyRequest): { actor: Actor; limits: PushLimit[] } {
  return { actor: actorOf(request), limits: [tokenLimit(pushGrantOf(request))] }
}

/** A 401, with the header that says how to authenticate. */
function unauthenticated (reply: FastifyReply, message: string): Error {
  reply.header('www-authenticate', 'Bearer realm="slipway"')
  return new Unauthenticated(message)
}

const inSeconds = (ms: number) => Math.max(1, Math.ceil(ms / 1000))
const seconds = (count: number) => (count === 1 ? '1 second' : `${count} seconds`)

/**
 * Bearer tokens and scopes on every route that names a scope, then a rate limit per token, counted
 * in Redis so it holds across API replicas. 401 says the caller is not known, 403 that it may not,
 * 429 that it asked too often, or that its address presented too many unknown tokens (then no
 * token from it is checked until its window ends). A token is read from Redis with its rate count
 * in one round trip, then trusted for `tokenCacheSeconds` unless revoked (services/token-admission.ts;
 * docs/operations/scaling.md has the bounds). Only token checks count as failures: the trigger
 * endpoints check their providers' signatures, and a misconfigured repository must not lock out
 * the provider's shared addresses.
 */
export default fp(
  async function auth (
    fastify: FastifyInstance,
    options: {
      tokens: TokenStore
      listen: (handlers: AuthEventHandlers) => { close(): Promise<void> }
      adminToken: string
      rateLimitPerMinute: number
      rateLimitBatch: number
      authFailuresPerMinute: number
      tokenCacheSeconds: number
      push: PushPolicy
    }
  ) {
    const max = options.rateLimitPerMinute
    const admission = createTokenAdmission({
      check: options.tokens.checker(options.adminToken, { windowMs: RATE_WINDOW_MS, failuresPerWindow: options.authFailuresPerMinute }),
      listen: options.listen,
      ttlMs: options.tokenCacheSeconds * 1000,
      batch: claimBatch(max, options.rateLimitBatch)
    })
    fastify.addHook('onClose', () => admission.close())
    fastify.decorate('tokenAdmission', admission)
    fastify.decorateRequest('principal', null)
    fastify.decorateRequest('pushGrant', null)
    /** Lets the request in as `admitted` says, or throws the refusal. */
    function settle (request: FastifyRequest, reply: FastifyReply, admitted: Admission, scope: RouteScope): void {
      if (admitted.kind === 'limited') {
        const retry = inSeconds(admitted.retryMs)
        reply.header('retry-after', retry)
        throw new AuthFailuresLimited(String(options.authFailuresPerMinute), seconds(retry))
      }
      if (admitted.kind === 'unknown') throw unauthenticated(reply, 'The token is not known: mistyped, or revoked.')
      const { principal, count, resetMs } = admitted
      if (!holds(principal, scope)) throw new Forbidden(scope, `${request.method} ${request.routeOptions.url}`)
      request.principal = principal
      request.pushGrant = grantOf({ admin: principal.scopes.includes('admin'), pushAllow: principal.pushAllow }, options.push)
      const resetSeconds = inSeconds(resetMs)
      reply.header('x-ratelimit-limit', max).header('x-ratelimit-remaining', Math.max(0, max - count)).header('x-ratelimit-reset', resetSeconds)
      if (count > max) {
        reply.header('retry-after', resetSeconds)
        throw new RateLimited(String(max), seconds(resetSeconds))
      }
    }

    // A hook with a callback rather than an async one: a token in use is admitted from memory, at
    // once, and only a token that must be read from Redis waits for it.
    fastify.addHook('onRequest', (request, reply, done) => {
      const scope = request.routeOptions.config.scope
      if (!scope) return done()
      const presented = /^Bearer +(\S+)$/i.exec(request.headers.authorization ?? '')?.[1]
      if (!presented) {
        return done(unauthenticated(reply, request.headers.authorization ? 'The Authorization header is not "Bearer <token>".' : 'This route needs a token.'))
      }
      const answer = (admitted: Admission) => {
        try {
          settle(request, reply, admitted, scope)
        } catch (error) {
          return done(error as Error)
        }
        done()
      }
      const admitted = admission.admit(presented, clientOf(request.ip))
      if (admitted instanceof Promise) admitted.then(answer, done)
      else answer(admitted)
    })
  },
  { name: 'auth', dependencies: ['services'] }
)
