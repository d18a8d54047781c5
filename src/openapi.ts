import { writeFile } from 'node:fs/promises'
import path from 'node:path'
import Fastify from 'fastify'
import fp from 'fastify-plugin'
import { pino } from 'pino'
import slipwayApp, { serverOptions } from './api/app.js'
import { loadConfig } from './domain/config.js'
import { packageRoot } from './package-info.js'

export const OPENAPI_FILE = path.join(packageRoot, 'openapi', 'openapi.json')

/** The OpenAPI document as the running API serves it, generated from the route schemas. */
export async function buildOpenApiDocument (): Promise<unknown> {
  // Documentation needs no Redis: point at a port where none listens and never use it.
  const config = { ...loadConfig({}), redisUrl: 'redis://127.0.0.1:1', logLevel: 'silent' as const }
  const app = Fastify(serverOptions(pino({ level: 'silent' }), config))
  await app.register(fp(slipwayApp), { config })
  try {
    return (await app.inject({ method: 'GET', url: '/openapi.json' })).json()
  } finally {
    await app.close()
  }
}

export function formatDocument (document: unknown): string {
  return `${JSON.stringify(document, null, 2)}\n`
}

// `npm run openapi` regenerates the committed document.
if (process.argv[1] && import.meta.url.endsWith(path.basename(process.argv[1]))) {
  await writeFile(OPENAPI_FILE, formatDocument(await buildOpenApiDocument()))
  process.stdout.write(`wrote ${path.relative(process.cwd(), OPENAPI_FILE)}\n`)
}
