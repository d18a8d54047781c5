import { createHmac, timingSafeEqual } from 'node:crypto'
import { createServer, type IncomingMessage, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Teardown } from './teardown.js'

export interface Received {
  /** The path and query the delivery was sent to. */
  url: string
  id: string
  timestamp: number
  signatures: string[]
  body: string
  /** Which of the known secrets verified it (Standard Webhooks, checked here independently). */
  verifiedWith: string[]
  answered: number
}

/**
 * A webhook receiver on loopback that checks every delivery the way the Standard Webhooks spec
 * tells receivers to, written here from the spec rather than with Slipway's own signing code.
 * `answer` decides each response; `stop()` and `start()` take it away and bring it back.
 */
export async function startReceiver (t: Teardown) {
  const received: Received[] = []
  const secrets = new Set<string>()
  let answer: (delivery: { url: string; body: string }) => number = () => 200
  let server: Server | undefined
  let port = 0

  const handle = async (request: IncomingMessage) => {
    let body = ''
    for await (const chunk of request) body += chunk
    const id = String(request.headers['webhook-id'] ?? '')
    const timestamp = Number(request.headers['webhook-timestamp'])
    const signatures = String(request.headers['webhook-signature'] ?? '').split(' ').filter(Boolean)
    const verifiedWith = [...secrets].filter((secret) => signatures.some((signature) => verify(secret, id, timestamp, body, signature)))
    return { url: request.url ?? '', id, timestamp, signatures, body, verifiedWith }
  }

  const start = async () => {
    server = createServer((request, response) => {
      void handle(request).then((delivery) => {
        const status = answer(delivery)
        received.push({ ...delivery, answered: status })
        response.writeHead(status, { 'content-type': 'text/plain' }).end(`answered ${status}`)
      })
    })
    await new Promise<void>((resolve) => server!.listen(port, '127.0.0.1', resolve))
    port = (server.address() as AddressInfo).port
  }
  const stop = async () => {
    server?.closeAllConnections()
    await new Promise((resolve) => server?.close(resolve))
    server = undefined
  }
  await start()
  t.teardown(stop)

  return {
    received,
    get url () {
      return `http://127.0.0.1:${port}/hook`
    },
    trust: (secret: string) => {
      secrets.add(secret)
    },
    answerWith: (decide: (delivery: { url: string; body: string }) => number) => {
      answer = decide
    },
    start,
    stop,
    /** Resolves once `count` deliveries matching `filter` have arrived. */
    async waitFor (count: number, filter: (delivery: Received) => boolean = () => true, timeoutMs = 60_000): Promise<Received[]> {
      const deadline = Date.now() + timeoutMs
      for (;;) {
        const matching = received.filter(filter)
        if (matching.length >= count) return matching
        if (Date.now() > deadline) throw new Error(`${matching.length} of ${count} deliveries arrived within ${timeoutMs} ms`)
        await new Promise((resolve) => setTimeout(resolve, 50))
      }
    }
  }
}

/** The spec's verification: HMAC-SHA256 over "id.timestamp.body" with the base64 key after "whsec_". */
function verify (secret: string, id: string, timestamp: number, body: string, signature: string): boolean {
  const [version, value] = signature.split(',')
  if (version !== 'v1' || !value) return false
  if (Math.abs(Date.now() / 1000 - timestamp) > 300) return false
  const key = Buffer.from(secret.replace(/^whsec_/, ''), 'base64')
  const expected = createHmac('sha256', key).update(`${id}.${timestamp}.${body}`).digest()
  const given = Buffer.from(value, 'base64')
  return given.length === expected.length && timingSafeEqual(given, expected)
}
