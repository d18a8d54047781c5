import { setTimeout as sleep } from 'node:timers/promises'
import type { Build } from '../domain/schemas/build.js'
import { ApiError, ConnectionError, type ApiClient } from './api-client.js'
import type { LogEntry, ProgressDisplay, StatusChange } from './progress-display.js'
import { sseEvents, type SseEvent } from './sse.js'

// Reconnects in a row without receiving an event before the follow gives up; the wait grows by a
// second each time, so a restarting API (about a minute here at most) is ridden out.
const MAX_RECONNECTS = 10

/**
 * Follows a build's log over SSE until its `end` event, and answers the ended build. A dropped
 * connection (an API process restarting, a proxy timing out) is resumed with Last-Event-ID, so
 * no line is shown twice or missed. `onEvent`, when given, sees every event as it came.
 */
export async function followBuild (
  api: ApiClient,
  id: string,
  display: ProgressDisplay,
  options: { signal?: AbortSignal; onEvent?: (event: SseEvent) => void } = {}
): Promise<Build> {
  let lastId: string | undefined
  let reconnects = 0
  for (;;) {
    let broken: unknown
    try {
      const response = await api.send('GET', `v1/builds/${encodeURIComponent(id)}/logs`, {
        headers: { accept: 'text/event-stream', ...(lastId ? { 'last-event-id': lastId } : {}) },
        ...(options.signal ? { signal: options.signal } : {})
      })
      for await (const event of sseEvents(response.body as unknown as AsyncIterable<Uint8Array>)) {
        reconnects = 0
        if (event.id) lastId = event.id
        options.onEvent?.(event)
        if (event.event === 'end') return JSON.parse(event.data) as Build
        if (event.event === 'log') display.log(JSON.parse(event.data) as LogEntry)
        else if (event.event === 'status') display.status(JSON.parse(event.data) as StatusChange)
      }
    } catch (error) {
      if (options.signal?.aborted || (error instanceof ApiError && error.status < 500)) throw error
      broken = error
    }
    // The stream ended before the build did, or broke: resume after the last event seen.
    if (++reconnects > MAX_RECONNECTS) {
      if (broken instanceof ApiError || broken instanceof ConnectionError) throw broken
      throw new ConnectionError(`the log stream of build ${id} ${broken ? `broke: ${(broken as Error).message}` : 'kept closing before the build ended'}`)
    }
    await sleep(1000 * reconnects, undefined, options.signal ? { signal: options.signal } : {})
  }
}
