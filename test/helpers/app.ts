import Fastify, { type FastifyInstance, type InjectOptions } from 'fastify'
import fp from 'fastify-plugin'
import { pino, type Logger } from 'pino'
import type { Registry } from 'prom-client'
import type { Teardown } from './teardown.js'
import slipwayApp, { serverOptions } from '../../src/api/app.js'
import type { Config } from '../../src/domain/config.js'

/**
 * The real API, built as src/server.ts builds it, closed when the test ends. Its `inject`
 * authenticates as the config's admin token unless a request brings its own Authorization
 * (an empty one sends none). `logger` and `metrics` stand for the process's, when a test shares them.
 */
export async function buildApp (t: Teardown, config: Config, options: { logger?: Logger; metrics?: Registry; paused?: () => string | null } = {}): Promise<FastifyInstance> {
  const app = Fastify(serverOptions(options.logger ?? pino({ level: config.logLevel }), config))
  await app.register(fp(slipwayApp), { config, metrics: options.metrics, ...(options.paused ? { paused: options.paused } : {}) })
  await app.ready()
  t.teardown(() => app.close())
  const inject = app.inject.bind(app)
  app.inject = ((options: InjectOptions) => {
    const headers = { authorization: `Bearer ${config.adminToken}`, ...options.headers }
    if (headers.authorization === '') delete (headers as Record<string, unknown>).authorization
    return inject({ ...options, headers })
  }) as typeof app.inject
  return app
}
