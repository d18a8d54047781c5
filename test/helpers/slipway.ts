import type { AddressInfo } from 'node:net'
import type Docker from 'dockerode'
import type { FastifyInstance } from 'fastify'
import { pino, type Logger } from 'pino'
import { Registry } from 'prom-client'
import type { Test } from 'tap'
import type { Config } from '../../src/domain/config.js'
import type { Build, BuildRequest } from '../../src/domain/schemas/build.js'
import { startBuildWorker } from '../../workers/build-worker.js'
import { startWebhookWorker } from '../../workers/webhook-worker.js'
import { buildApp } from './app.js'
import { testConfig } from './config.js'

export interface TestSlipway {
  app: FastifyInstance
  config: Config
  /** POSTs a build and waits for its terminal state. */
  build(request: BuildRequest, timeoutMs?: number): Promise<Build>
  submit(request: BuildRequest): Promise<Build>
  /** POSTs a gzipped tar with these options (a BuildUploadOptions); the answer as it came. */
  upload(body: Buffer, options: object): Promise<{ statusCode: number; body: string; build: Build }>
  /** Serves the API on a free loopback port; its base URL. */
  listen(): Promise<string>
  wait(id: string, timeoutMs?: number): Promise<Build>
  logs(id: string): Promise<string>
}

/**
 * The API and a build worker on real Redis and Docker, isolated by their own key prefix, sharing
 * one metrics registry as they do in one process (SLIPWAY_ROLE=all); `logger` hears both. The
 * worker builds on the engine DOCKER_HOST names, or on `engine.docker` (test/helpers/dockerd.ts).
 */
export async function startSlipway (
  t: Test,
  overrides: Partial<Config> = {},
  logger: Logger = pino({ level: 'silent' }),
  engine: { docker?: Docker } = {}
): Promise<TestSlipway> {
  const config = testConfig(t, overrides)
  const metrics = new Registry()
  const app = await buildApp(t, config, { logger, metrics })
  for (const worker of [await startBuildWorker(config, logger, metrics, engine.docker ? { docker: engine.docker } : {}), await startWebhookWorker(config, logger, metrics)]) {
    t.teardown(() => worker.close())
  }
  const submit = async (request: BuildRequest) => {
    const response = await app.inject({ method: 'POST', url: '/v1/builds', payload: request })
    if (response.statusCode !== 202) throw new Error(`POST /v1/builds answered ${response.statusCode}: ${response.body}`)
    return response.json<Build>()
  }
  const wait = async (id: string, timeoutMs = 120_000) => {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const build = (await app.inject({ method: 'GET', url: `/v1/builds/${id}` })).json<Build>()
      if (!['queued', 'running'].includes(build.status)) {
        return build
      }
      if (Date.now() > deadline) throw new Error(`build ${id} still ${build.status} after ${timeoutMs} ms`)
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
  }
  const upload = async (body: Buffer, options: object) => {
    const response = await app.inject({
      method: 'POST',
      url: `/v1/builds?options=${encodeURIComponent(JSON.stringify(options))}`,
      headers: { 'content-type': 'application/gzip' },
      payload: body
    })
    return { statusCode: response.statusCode, body: response.body, build: response.json<Build>() }
  }
  const listen = async () => {
    await app.listen({ host: '127.0.0.1', port: 0 })
    return `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`
  }
  return {
    app,
    config,
    submit,
    upload,
    listen,
    wait,
    build: async (request, timeoutMs) => wait((await submit(request)).id, timeoutMs),
    logs: async (id) => (await app.inject({ method: 'GET', url: `/v1/builds/${id}/logs` })).body
  }
}
