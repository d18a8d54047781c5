import Fastify, { type FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { pino } from 'pino'
import type { Test } from 'tap'
import slipwayApp, { serverOptions } from '../../src/app.js'
import type { Config } from '../../src/config.js'

/** The real API, built as src/server.ts builds it, closed when the test ends. */
export async function buildApp(t: Test, config: Config): Promise<FastifyInstance> {
  const app = Fastify(serverOptions(pino({ level: config.logLevel })))
  await app.register(fp(slipwayApp), { config })
  await app.ready()
  t.teardown(() => app.close())
  return app
}
