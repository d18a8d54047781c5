export interface SseEvent {
  id?: string
  event: string
  data: string
}

/**
 * Reads Server-Sent Events from a real HTTP response, as a browser's EventSource would (comments
 * skipped, fields per the spec). Aborting `signal` cuts the connection.
 */
export async function* readSse(url: string, options: { headers?: Record<string, string>; signal?: AbortSignal } = {}): AsyncGenerator<SseEvent> {
  const response = await fetch(url, { headers: { accept: 'text/event-stream', ...options.headers }, signal: options.signal ?? null })
  if (!response.ok || !response.body) throw new Error(`SSE ${url} answered ${response.status}: ${await response.text()}`)
  const decoder = new TextDecoder()
  let buffer = ''
  for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
    buffer += decoder.decode(chunk, { stream: true })
    let end: number
    while ((end = buffer.indexOf('\n\n')) !== -1) {
      const block = buffer.slice(0, end)
      buffer = buffer.slice(end + 2)
      const event: SseEvent = { event: 'message', data: '' }
      const data: string[] = []
      for (const line of block.split('\n')) {
        if (line.startsWith(':')) continue
        const colon = line.indexOf(':')
        const field = colon === -1 ? line : line.slice(0, colon)
        const value = colon === -1 ? '' : line.slice(colon + 1).replace(/^ /, '')
        if (field === 'id') event.id = value
        else if (field === 'event') event.event = value
        else if (field === 'data') data.push(value)
      }
      if (data.length === 0) continue
      event.data = data.join('\n')
      yield event
    }
  }
}
