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
  readsNotLogged?: number
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

t.test('a flood of reads is logged up to SLIPWAY_LOG_READS_PER_SECOND, and every read left out is counted', async (t) => {
  const PER_SECOND = 5
  const lines: Line[] = []
  const sink = new Writable({
    write (chunk: Buffer, _encoding, done) {
      lines.push(...chunk.toString('utf8').split('\n').filter(Boolean).map((line) => JSON.parse(line) as Line))
      done()
    }
  })
  const config = testConfig(t, { logLevel: 'info', logReadsPerSecond: PER_SECOND })
  const app = await buildApp(t, config, { logger: pino({ level: 'info' }, sink) })
  const read = () => app.inject({ method: 'GET', url: '/v1/builds?limit=1' })
  const reads = 40
  const started = Date.now()
  for (let n = 0; n < reads - 1; n++) t.equal((await read()).statusCode, 200)
  await app.inject({ method: 'POST', url: '/v1/tokens', payload: { name: 'amid-the-polls', scopes: ['builds:read'] } })
  const seconds = Math.floor(Date.now() / 1000) - Math.floor(started / 1000) + 1
  // The last read comes in a second of its own, so it is logged, and says what went before it.
  await new Promise((resolve) => setTimeout(resolve, 1100))
  t.equal((await read()).statusCode, 200)

  const readLines = lines.filter((line) => line.method === 'GET')
  t.ok(readLines.length <= PER_SECOND * seconds + 1, `${readLines.length} of ${reads} reads logged over ${seconds} s, at most ${PER_SECOND} a second`)
  const counted = readLines.reduce((sum, line) => sum + (line.readsNotLogged ?? 0), 0)
  t.equal(readLines.length + counted, reads, 'each read left out is counted on a read logged after it')
  t.ok(readLines.at(-1)!.readsNotLogged! > 0, 'the read after the flood says how many were left out')
  t.same(lines.filter((line) => line.method === 'POST').map((line) => line.statusCode), [201], 'a change amid the flood is logged')
})
