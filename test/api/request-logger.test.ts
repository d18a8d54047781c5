import { Writable } from 'node:stream'
import pino from 'pino'
import t from 'tap'
import type { FastifyBaseLogger } from 'fastify'
import { requestLogger } from '../../src/api/request-logger.js'

// A request's logger makes no pino child, yet its lines must read as a child's would: the same
// fields, in the same order, whatever it is given.

/** A logger that keeps its lines, with no time (which differs between two writes). */
function capture (): { logger: FastifyBaseLogger; lines: string[] } {
  const lines: string[] = []
  const sink = new Writable({
    write (chunk: Buffer, _encoding, done) {
      lines.push(chunk.toString().trim())
      done()
    }
  })
  return { logger: pino({ base: { role: 'api' }, timestamp: false }, sink), lines }
}

const writes: Array<[string, (log: FastifyBaseLogger) => void]> = [
  ['an object and a message', (log) => log.info({ method: 'GET', statusCode: 200 }, 'request completed')],
  ['a message alone', (log) => log.warn('slow answer')],
  ['a format string', (log) => log.info('took %d ms for %s', 12, 'GET')],
  ['an error', (log) => log.error(new Error('Redis went away'))],
  ['an object with an error', (log) => log.error({ statusCode: 500, err: new Error('boom') }, 'request errored')],
  ['a child with a build id', (log) => log.child({ buildId: '01M918B4GKVG5J55NQGRXQKTCF' }).info({ statusCode: 202 }, 'request completed')],
  ['an object naming a bound field again', (log) => log.info({ reqId: 'other' }, 'odd')]
]

t.test('each line reads as the pino child fastify would have made writes it', async (t) => {
  for (const [name, write] of writes) {
    const expected = capture()
    const actual = capture()
    write(expected.logger.child({ reqId: 'req-7' }))
    write(requestLogger(actual.logger, { reqId: 'req-7' }, {}))
    const strip = (line: string) => line.replace(/"stack":"[^"]*"/, '"stack":…')
    if (name === 'an object naming a bound field again') {
      // A child writes the field twice (JSON readers keep the last); here it is written once, as given.
      t.same(JSON.parse(actual.lines[0]!), JSON.parse(expected.lines[0]!), name)
    } else {
      t.same(actual.lines.map(strip), expected.lines.map(strip), name)
    }
  }
})

t.test('a route with a level of its own gets a real child at that level', async (t) => {
  const { logger, lines } = capture()
  const log = requestLogger(logger, { reqId: 'req-8' }, { level: 'warn' })
  log.info('not written')
  log.warn('written')
  t.equal(lines.length, 1)
  t.match(JSON.parse(lines[0]!), { reqId: 'req-8', msg: 'written' })
})

t.test('a level set on a request logger is the level it reports, writes at and hands to its children', async (t) => {
  const { logger, lines } = capture()
  const log = requestLogger(logger, { reqId: 'req-9' }, {})
  log.level = 'warn'
  t.equal(log.level, 'warn')
  log.info('not written')
  log.child({ buildId: '01M918B4GKVG5J55NQGRXQKTCF' }).info('nor this')
  log.warn({ statusCode: 503 }, 'written')
  t.same(lines.map((line) => JSON.parse(line).msg), ['written'])
  t.match(JSON.parse(lines[0]!), { reqId: 'req-9', statusCode: 503 })
})
