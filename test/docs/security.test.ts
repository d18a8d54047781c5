import { readFile } from 'node:fs/promises'
import path from 'node:path'
import Fastify from 'fastify'
import fp from 'fastify-plugin'
import { pino } from 'pino'
import t from 'tap'
import slipwayApp, { serverOptions } from '../../src/api/app.js'
import { packageRoot } from '../../src/package-info.js'
import { testConfig } from '../helpers/config.js'

// docs/operations/security.md lists every route that needs no token; this keeps the list exact.
const security = await readFile(path.join(packageRoot, 'docs', 'operations', 'security.md'), 'utf8')

/** The routes the documentation's table names, as "METHOD /path". */
function documentedOpenRoutes (): string[] {
  const section = /## Routes that need no token\n([\s\S]*?)\n## /.exec(security)?.[1] ?? ''
  return [...section.matchAll(/^\| `([A-Z]+ \S+)` \|/gm)].map((row) => row[1]!).sort()
}

// The portal's files and Swagger UI's assets are each one entry in the documentation.
const grouped = (url: string) => (url.startsWith('/docs') ? '/docs/*' : url.startsWith('/portal') ? '/portal/*' : url)

t.test('every route without a scope is in docs/operations/security.md, and nothing else is', async (t) => {
  const config = testConfig(t)
  const app = Fastify(serverOptions(pino({ level: 'silent' }), config))
  const open = new Set<string>()
  app.addHook('onRoute', (route) => {
    const scope = (route.config as { scope?: string } | undefined)?.scope
    const methods = [route.method].flat().filter((method) => method !== 'HEAD')
    if (!scope) for (const method of methods) open.add(`${method} ${grouped(route.url)}`)
  })
  await app.register(fp(slipwayApp), { config })
  await app.ready()
  t.teardown(() => app.close())
  t.same([...open].sort(), documentedOpenRoutes())
})
