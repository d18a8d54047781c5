import http from 'node:http'
import https from 'node:https'
import type { LookupFunction } from 'node:net'

export interface PostResult {
  statusCode: number | null
  durationMs: number
  error: string | null
  /** The first bytes of the answer, for the delivery log. */
  response: string | null
}

const RESPONSE_BYTES = 1024

/**
 * One POST of a delivery. Redirects are not followed (a 3xx is a failed attempt: following one
 * could lead anywhere), every address the name resolves to is checked as the connection opens
 * (`lookup`), and the answer is read only as far as the delivery log needs.
 */
export function postWebhook (url: URL, headers: Record<string, string>, body: string, options: { timeoutMs: number; lookup: LookupFunction }): Promise<PostResult> {
  const started = Date.now()
  const transport = url.protocol === 'https:' ? https : http
  return new Promise((resolve) => {
    let settled = false
    const done = (result: Omit<PostResult, 'durationMs'>) => {
      if (settled) return
      settled = true
      resolve({ ...result, durationMs: Date.now() - started })
    }
    const request = transport.request(
      url,
      {
        method: 'POST',
        headers: { ...headers, 'content-length': Buffer.byteLength(body), 'user-agent': 'Slipway-Webhooks' },
        lookup: options.lookup,
        signal: AbortSignal.timeout(options.timeoutMs),
        agent: false
      },
      (response) => {
        const chunks: Buffer[] = []
        let kept = 0
        const finish = () => {
          const statusCode = response.statusCode ?? null
          const text = Buffer.concat(chunks).toString('utf8').slice(0, RESPONSE_BYTES)
          const redirect = statusCode !== null && statusCode >= 300 && statusCode < 400
          done({ statusCode, error: redirect ? `redirect to ${response.headers.location ?? '(no location)'} not followed` : null, response: text || null })
        }
        response.on('data', (chunk: Buffer) => {
          if (kept < RESPONSE_BYTES) chunks.push(chunk)
          kept += chunk.length
          if (kept >= RESPONSE_BYTES) {
            response.destroy()
            finish()
          }
        })
        response.on('end', finish)
        response.on('error', () => finish())
      }
    )
    request.on('error', (error: NodeJS.ErrnoException) => {
      const reason = error.name === 'AbortError' || error.name === 'TimeoutError' ? `no answer within ${options.timeoutMs / 1000} s` : error.message
      done({ statusCode: null, error: reason, response: null })
    })
    request.end(body)
  })
}
