import { Writable } from 'node:stream'
import { pino } from 'pino'
import t from 'tap'
import { buildApp } from '../helpers/app.js'
import { testConfig } from '../helpers/config.js'
import type { Config } from '../../src/domain/config.js'

// The API's own log: one line per request to the API, none for probes, scrapes and portal files
// unless asked, and never a token.

interface Line {
  msg: string
  reqId?: string
  tokenId?: string
  method?: string
  url?: string
  route?: string
  statusCode?: number
  responseTime?: number
}

async function logged (t: Parameters<typeof testConfig>[0], logRequests: Config['logRequests']) {
  const lines: string[] = []
  const sink = new Writable({
    write (chunk: Buffer, _encoding, done) {
      lines.push(...chunk.toString('utf8').split('\n').filter(Boolean))
      done()
    }
  })
  const config = testConfig(t, { logRequests, logLevel: 'info' })
  const app = await buildApp(t, config, { logger: pino({ level: 'info' }, sink) })
  const made = await app.inject({ method: 'POST', url: '/v1/tokens', payload: { name: 'reader', scopes: ['builds:read'] } })
  const { id, token } = made.json<{ id: string; token: string }>()
  lines.length = 0
  const urls = ['/v1/builds?limit=5', '/v1/builds/01J0000000000000000000000Z', '/healthz', '/readyz', '/metrics', '/', '/docs/']
  for (const url of urls) await app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${token}` } })
  await app.inject({ method: 'GET', url: '/v1/builds', headers: { authorization: 'Bearer slw_wrong' } })
  await app.inject({ method: 'POST', url: '/v1/tokens', payload: { name: 'writer', scopes: ['builds:read'] } })
  return { lines, entries: lines.map((line) => JSON.parse(line) as Line), id, token }
}

t.test('by default one line for each request to /v1, none for probes, metrics, the portal or the docs', async (t) => {
  const { lines, entries, id, token } = await logged(t, 'api')
  t.same(
    entries.map((entry) => [entry.url, entry.statusCode]),
    [['/v1/builds?limit=5', 200], ['/v1/builds/01J0000000000000000000000Z', 404], ['/v1/builds', 401], ['/v1/tokens', 201]],
    'one line per API request, refusals included'
  )
  t.ok(entries.every((entry) => entry.msg === 'request completed' && typeof entry.reqId === 'string' && typeof entry.responseTime === 'number'), 'each says its request id and time')
  t.same(entries.map((entry) => entry.route), ['/v1/builds', '/v1/builds/:id', '/v1/builds', '/v1/tokens'], 'and the route')
  t.same(entries.map((entry) => entry.tokenId), [id, id, undefined, 'admin'], 'and the token by its id, when it was known')
  t.notOk(lines.some((line) => line.includes(token) || line.includes(token.slice(4, 20)) || line.includes('slw_wrong')), 'no token appears, good or wrong')
  t.notOk(lines.some((line) => /authorization/i.test(line)), 'nor any Authorization header')
})

t.test('SLIPWAY_LOG_REQUESTS=changes leaves out the reads answered 2xx or 3xx: the polls', async (t) => {
  const { entries } = await logged(t, 'changes')
  t.same(
    entries.map((entry) => [entry.method, entry.url, entry.statusCode]),
    [['GET', '/v1/builds/01J0000000000000000000000Z', 404], ['GET', '/v1/builds', 401], ['POST', '/v1/tokens', 201]],
    'refused reads and every change, but not the list read nor anything outside /v1'
  )
})

t.test('SLIPWAY_LOG_REQUESTS=all logs the rest too; off logs none', async (t) => {
  const all = await logged(t, 'all')
  t.same(
    all.entries.map((entry) => entry.url),
    ['/v1/builds?limit=5', '/v1/builds/01J0000000000000000000000Z', '/healthz', '/readyz', '/metrics', '/', '/docs/', '/v1/builds', '/v1/tokens'],
    'all: one line for each request'
  )
  const off = await logged(t, 'off')
  t.same(off.lines, [], 'off: none')
})
