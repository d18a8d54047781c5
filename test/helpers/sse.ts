import { sseEvents, type SseEvent } from '../../src/cli/sse.js'

export type { SseEvent }

/**
 * Reads Server-Sent Events from a real HTTP response, as a browser's EventSource would (the CLI's
 * own reader). Aborting `signal` cuts the connection.
 */
export async function * readSse (url: string, options: { headers?: Record<string, string>; signal?: AbortSignal } = {}): AsyncGenerator<SseEvent> {
  const response = await fetch(url, { headers: { accept: 'text/event-stream', ...options.headers }, signal: options.signal ?? null })
  if (!response.ok || !response.body) throw new Error(`SSE ${url} answered ${response.status}: ${await response.text()}`)
  yield * sseEvents(response.body)
}
