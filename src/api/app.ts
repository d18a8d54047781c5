import Docker from 'dockerode'
import { LogController, type FastifyInstance, type FastifyReply, type FastifyRequest, type FastifyServerOptions } from 'fastify'
import type { Logger } from 'pino'
import { Registry } from 'prom-client'
import { trustProxyOption } from '../domain/client-address.js'
import type { Config } from '../domain/config.js'
import { registerClusterMetrics } from '../metrics/cluster-metrics.js'
import { registerReachabilityMetrics } from '../metrics/reachability.js'
import { readRedisMemory } from '../services/storage-report.js'
import { isConnectionLost } from '../storage/redis.js'
import auth from './plugins/auth.js'
import buildLogContext from './plugins/build-log-context.js'
import services from './plugins/services.js'
import errorHandler from './plugins/error-handler.js'
import swagger from './plugins/swagger.js'
import validation from './plugins/validation.js'
import { requestLogger } from './request-logger.js'
import healthRoutes from './routes/health.js'
import metricsRoutes from './routes/metrics.js'
import portalRoutes from './routes/portal.js'
import adminRoutes from './routes/v1/admin.js'
import auditRoutes from './routes/v1/audit.js'
import buildLogRoutes from './routes/v1/build-logs.js'
import buildDocumentRoutes from './routes/v1/build-documents.js'
import buildRoutes from './routes/v1/builds.js'
import insightRoutes from './routes/v1/insight.js'
import secretRoutes from './routes/v1/secrets.js'
import tokenRoutes from './routes/v1/tokens.js'
import triggerRoutes from './routes/v1/triggers.js'
import webhookRoutes from './routes/v1/webhooks.js'

export interface AppOptions {
  config: Config
  /** The process's one metrics registry, shared with a worker in the same process; a new one if not given. */
  metrics?: Registry
  /** With SLIPWAY_ROLE=all: why this process's worker takes no builds now (its disk watermark), or null. */
  paused?: () => string | null
}

/** The whole API as one plugin: src/server.ts runs it, tests build it the same way. */
export default async function slipwayApp (fastify: FastifyInstance, options: AppOptions) {
  // The API speaks JSON; a text body is refused (415) rather than read as a JSON string.
  fastify.removeContentTypeParser('text/plain')
  await fastify.register(buildLogContext)
  await fastify.register(validation)
  await fastify.register(swagger)
  await fastify.register(services, { config: options.config })
  const { adminToken, rateLimitPerMinute, rateLimitBatch, authFailuresPerMinute, tokenCacheSeconds } = options.config
  await fastify.register(auth, {
    tokens: fastify.tokens,
    listen: fastify.storage.authEvents,
    adminToken,
    rateLimitPerMinute,
    rateLimitBatch,
    authFailuresPerMinute,
    tokenCacheSeconds,
    push: fastify.pushPolicy
  })
  await fastify.register(errorHandler, { isStoreDown: (error) => fastify.storage.connection.status !== 'ready' || isConnectionLost(error) })
  // A process that also builds (role all) is ready only while its Docker Engine answers too.
  const dependencies = {
    redis: fastify.storage.connection,
    docker: options.config.role === 'api' ? null : new Docker(),
    redisMemory: () => readRedisMemory(fastify.storage.keyCensus),
    ...(options.paused ? { paused: options.paused } : {})
  }
  const metrics = options.metrics ?? new Registry()
  registerReachabilityMetrics(metrics, dependencies)
  registerClusterMetrics(metrics, fastify.clusterCounts)
  await fastify.register(healthRoutes, { dependencies })
  await fastify.register(metricsRoutes, { registry: metrics })
  await fastify.register(buildRoutes, { prefix: '/v1' })
  await fastify.register(buildLogRoutes, { prefix: '/v1' })
  await fastify.register(buildDocumentRoutes, { prefix: '/v1' })
  await fastify.register(webhookRoutes, { prefix: '/v1' })
  await fastify.register(tokenRoutes, { prefix: '/v1' })
  await fastify.register(triggerRoutes, { prefix: '/v1' })
  await fastify.register(secretRoutes, { prefix: '/v1' })
  await fastify.register(insightRoutes, { prefix: '/v1' })
  await fastify.register(auditRoutes, { prefix: '/v1' })
  await fastify.register(adminRoutes, { prefix: '/v1' })
  await fastify.register(portalRoutes)

  // Closing waits for requests in flight, but not past a short grace: a connection a client left
  // half-open would otherwise hold shutdown until its keep-alive runs out.
  fastify.addHook('preClose', async () => {
    setTimeout(() => fastify.server.closeAllConnections(), CLOSE_GRACE_MS).unref()
  })
}

const CLOSE_GRACE_MS = 2000

const isRead = (method: string) => method === 'GET' || method === 'HEAD'

/**
 * One log line per request, written when it is answered: what was asked, by which token (its id,
 * never the token), the answer's status and how long it took; the request id and build id come
 * with the request's logger. Fastify's own two (one on arrival, one on answer, with every header
 * field it serialises) doubled the log writes, a tenth of the API's CPU under load. Which
 * requests are logged is SLIPWAY_LOG_REQUESTS: by default those to the API, not the probes,
 * /metrics scrapes and portal files that come far more often and say little; with `changes`, not
 * the reads that succeed either, which CI's polls make most of.
 *
 * Those reads are logged up to SLIPWAY_LOG_READS_PER_SECOND a second; past it they are counted,
 * and the next one logged says how many were left out. An installation at ordinary rates keeps
 * every line; a flood of polls (20,000 a second from one process under the reads bench, 6 MB of
 * log a second, a tenth of a core for the collector reading it) costs a bounded log, with a read
 * refused, every change and every failure still logged.
 */
class OneLinePerRequest extends LogController {
  #second = 0
  #readsThisSecond = 0
  #readsNotLogged = 0

  constructor (
    private readonly which: Config['logRequests'],
    private readonly readsPerSecond: number
  ) {
    super()
  }

  override isLogDisabled (request: { url?: string }): boolean {
    return this.which === 'off' || (this.which !== 'all' && !request.url?.startsWith('/v1/'))
  }

  override incomingRequest (): void {}

  override requestCompleted (error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    if (this.isLogDisabled(request)) return
    const successfulRead = !error && isRead(request.method) && reply.statusCode < 400
    if (successfulRead && (this.which === 'changes' || !this.readLogged())) return
    // Flat fields, not `req` and `res`: those would go through fastify's serializers, which copy more.
    const line = {
      method: request.method,
      url: request.url,
      route: request.routeOptions.url,
      statusCode: reply.statusCode,
      responseTime: Math.round(reply.elapsedTime * 10) / 10,
      ip: request.ip,
      tokenId: request.principal?.tokenId,
      readsNotLogged: successfulRead ? this.takeReadsNotLogged() : undefined
    }
    if (error) reply.log.error({ ...line, err: error }, 'request errored')
    else reply.log.info(line, 'request completed')
  }

  /** Whether this second's allowance of read lines has room for one more; counted if not. */
  private readLogged (): boolean {
    const second = Math.floor(Date.now() / 1000)
    if (second !== this.#second) {
      this.#second = second
      this.#readsThisSecond = 0
    }
    if (this.#readsThisSecond >= this.readsPerSecond) {
      this.#readsNotLogged++
      return false
    }
    this.#readsThisSecond++
    return true
  }

  /** The reads left out since the last read logged (none: undefined, so no field), counted again from 0. */
  private takeReadsNotLogged (): number | undefined {
    const count = this.#readsNotLogged
    this.#readsNotLogged = 0
    return count > 0 ? count : undefined
  }
}

export function serverOptions (logger: Logger, config: Pick<Config, 'trustProxy' | 'logRequests' | 'logReadsPerSecond'>): FastifyServerOptions {
  return {
    loggerInstance: logger,
    // request.ip is the client's only through the proxies the operator names; by default it is the
    // socket's peer, and X-Forwarded-For, which any client can write, is ignored.
    trustProxy: trustProxyOption(config.trustProxy) ?? false,
    logController: new OneLinePerRequest(config.logRequests, config.logReadsPerSecond),
    childLoggerFactory: requestLogger,
    // Long log streams must not be cut by the default request timeout.
    requestTimeout: 0,
    return503OnClosing: true
  }
}
