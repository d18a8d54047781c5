// The portal's only way to Slipway: the /v1 API with the token the person gave, as any client.

/**
 * @import { Build } from '../domain/schemas/build.js'
 * @import { ErrorBody } from '../domain/schemas/error.js'
 * @import { TokenSelf } from '../domain/schemas/token.js'
 */

/**
 * What a request may carry besides its path.
 * @typedef {object} RequestOptions
 * @property {string} [method]
 * @property {unknown} [body] Sent as JSON.
 * @property {Record<string, string>} [headers]
 * @property {AbortSignal} [signal]
 */

/**
 * A log line as GET /v1/builds/{id}/logs streams it (the data of a `log` event).
 * @typedef {object} LogLine
 * @property {string} phase
 * @property {string} stream
 * @property {number} ts
 * @property {string} text
 */

const TOKEN_KEY = 'slipway.token'

/**
 * The token lives in sessionStorage: this tab keeps it across reloads and forgets it when closed.
 * Nothing else the portal keeps is secret.
 */
export const session = {
  token: () => sessionStorage.getItem(TOKEN_KEY),
  signIn: (/** @type {string} */ token) => sessionStorage.setItem(TOKEN_KEY, token),
  signOut: () => sessionStorage.removeItem(TOKEN_KEY)
}

/** @type {{ token: string, self: Promise<TokenSelf | null> } | undefined} */
let known

/**
 * The signed-in token as GET /v1/tokens/self describes it (its name and scopes), asked once per
 * token; null when it could not be asked (a Slipway too old to answer, or not answering): pages
 * then offer everything and let the API refuse.
 * @returns {Promise<TokenSelf | null>}
 */
export function signedIn () {
  const token = session.token() ?? ''
  if (known?.token !== token) {
    const self = json('/v1/tokens/self').then((answer) => /** @type {TokenSelf} */ (answer), () => null)
    known = { token, self }
  }
  return known.self
}

/**
 * What the signed-in token may do to builds. A token holds a scope by name, or through `admin`.
 * @param {TokenSelf | null} self
 * @returns {{ write: boolean, why: string }} `why`: when it may not write, the reason, for people.
 */
export function buildRights (self) {
  const write = self === null || self.scopes.includes('builds:write') || self.scopes.includes('admin')
  return { write, why: write || self === null ? '' : `This token (${self.name}) may read builds, not start or cancel them` }
}

/** An answer other than 2xx, as the API described it: `{ statusCode, code, message, details? }`. */
export class ApiError extends Error {
  /**
   * @param {number} status The HTTP status; 0 when Slipway did not answer.
   * @param {Pick<ErrorBody, 'code' | 'message' | 'details'>} body
   */
  constructor (status, body) {
    super(body.message)
    this.status = status
    this.code = body.code
    this.details = body.details
  }
}

/**
 * Called with the ApiError of a 401 or 403, so the page can ask for a token again.
 * @type {(error: ApiError) => void}
 */
let onAuthProblem = () => {}
/** @param {(error: ApiError) => void} handler */
export function whenTokenRefused (handler) {
  onAuthProblem = handler
}

/**
 * fetch() on the API with the token; throws ApiError for any answer but 2xx.
 * @param {string} path
 * @param {RequestOptions} [options]
 * @returns {Promise<Response>}
 */
export async function request (path, { method = 'GET', body, headers = {}, signal } = {}) {
  let response
  try {
    response = await fetch(path, {
      method,
      signal: signal ?? null,
      headers: {
        authorization: `Bearer ${session.token() ?? ''}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        ...headers
      },
      body: body === undefined ? undefined : JSON.stringify(body)
    })
  } catch (error) {
    if (signal?.aborted) throw error
    throw new ApiError(0, { code: 'UNREACHABLE', message: `Slipway did not answer (${error instanceof Error ? error.message : String(error)}). Is it running? Try again in a moment.` })
  }
  if (response.ok) return response
  const error = new ApiError(response.status, await errorBody(response))
  if (response.status === 401 || response.status === 403) onAuthProblem(error)
  throw error
}

/**
 * The answer's JSON body, of a type the caller names with a cast: the API's schemas in
 * src/domain/schemas describe every answer.
 * @param {string} path
 * @param {RequestOptions} [options]
 * @returns {Promise<unknown>}
 */
export async function json (path, options) {
  return (await request(path, options)).json()
}

/**
 * @param {Response} response
 * @returns {Promise<Pick<ErrorBody, 'code' | 'message' | 'details'>>}
 */
async function errorBody (response) {
  const text = await response.text()
  try {
    const body = /** @type {unknown} */ (JSON.parse(text))
    if (isErrorBody(body)) return { code: body.code, message: body.message, details: body.details }
  } catch {}
  return { code: `HTTP_${response.status}`, message: text.slice(0, 500) || response.statusText }
}

/**
 * Whether an answer's body is the API's Error model (other answers come from proxies, or crashes).
 * @param {unknown} body
 * @returns {body is Pick<ErrorBody, 'code' | 'message' | 'details'>}
 */
function isErrorBody (body) {
  return typeof body === 'object' && body !== null && 'code' in body && typeof body.code === 'string' && 'message' in body && typeof body.message === 'string'
}

/**
 * Follows a build's log as Server-Sent Events (GET /v1/builds/{id}/logs). EventSource cannot send
 * the token, so the stream is read with fetch. A dropped connection is resumed with Last-Event-ID:
 * nothing missed, nothing twice. Resolves with the ended build (the `end` event).
 * @param {string} id
 * @param {{ onLine: (line: LogLine) => void, onStatus: (change: unknown) => void, signal: AbortSignal }} handlers
 * @returns {Promise<Build>}
 */
export async function followLog (id, { onLine, onStatus, signal }) {
  /** @type {string | undefined} */
  let lastId
  return resumed(signal, async () => {
    const headers = { accept: 'text/event-stream', ...(lastId ? { 'last-event-id': lastId } : {}) }
    const response = await request(`/v1/builds/${encodeURIComponent(id)}/logs`, { headers, signal })
    for await (const events of serverSentEvents(bodyOf(response))) {
      for (const event of events) {
        if (event.id) lastId = event.id
        const data = /** @type {unknown} */ (JSON.parse(event.data))
        if (event.event === 'log') onLine(/** @type {LogLine} */ (data))
        else if (event.event === 'status') onStatus(data)
        else if (event.event === 'end') return /** @type {Build} */ (data)
      }
    }
    throw new Error('The log stream ended before the build did.')
  })
}

// A page busy this long at a time gets a chance to draw and answer the reader before going on.
const BUSY_MS = 16

/**
 * Reads an ended build's log: GET /v1/builds/{id}/logs as NDJSON, the lines the `log` events hold
 * without the events around them, parsed a chunk at a time rather than an event at a time, the
 * page given its turn every BUSY_MS. A dropped connection is resumed after the last line read.
 * @param {string} id
 * @param {{ onLine: (line: LogLine) => void, signal: AbortSignal }} handlers
 * @returns {Promise<void>}
 */
export async function readLog (id, { onLine, signal }) {
  /** @type {string | undefined} */
  let lastId
  return resumed(signal, async () => {
    const since = lastId ? `?since=${encodeURIComponent(lastId)}` : ''
    const response = await request(`/v1/builds/${encodeURIComponent(id)}/logs${since}`, { headers: { accept: 'application/x-ndjson' }, signal })
    const reader = bodyOf(response).pipeThrough(new TextDecoderStream()).getReader()
    let rest = ''
    let busySince = performance.now()
    try {
      for (;;) {
        const { value, done } = await reader.read()
        if (done) return
        const text = rest + value
        const end = text.lastIndexOf('\n')
        if (end === -1) {
          rest = text
          continue
        }
        rest = text.slice(end + 1)
        // JSON strings hold no raw newline: a chunk's lines become one array, parsed at once.
        const parsed = /** @type {unknown} */ (JSON.parse(`[${text.slice(0, end).replaceAll('\n', ',')}]`))
        const lines = /** @type {Array<LogLine & { id: string }>} */ (parsed)
        for (const line of lines) onLine(line)
        lastId = lines.at(-1)?.id
        if (performance.now() - busySince > BUSY_MS) {
          await new Promise((resolve) => setTimeout(resolve))
          busySince = performance.now()
        }
      }
    } finally {
      reader.releaseLock()
    }
  })
}

/**
 * Runs `attempt` until it returns, again a second after each failure but a refusal (a deleted
 * build, a revoked token will not get better by asking again) or the page's leaving.
 * @template T
 * @param {AbortSignal} signal
 * @param {() => Promise<T>} attempt
 * @returns {Promise<T>}
 */
async function resumed (signal, attempt) {
  for (;;) {
    try {
      return await attempt()
    } catch (error) {
      if (signal.aborted || (error instanceof ApiError && error.status >= 400 && error.status < 500)) throw error
    }
    await new Promise((resolve) => setTimeout(resolve, 1000))
    if (signal.aborted) throw signal.reason
  }
}

/**
 * @param {Response} response
 * @returns {NonNullable<Response['body']>}
 */
function bodyOf (response) {
  if (!response.body) throw new ApiError(response.status, { code: 'NO_BODY', message: 'The log answered without a body.' })
  return response.body
}

/**
 * The events of an SSE body (blocks of `field: value` lines ended by a blank line), those of each
 * chunk together.
 * @param {NonNullable<Response['body']>} body
 * @returns {AsyncGenerator<Array<{ event: string, data: string, id?: string }>>}
 */
async function * serverSentEvents (body) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader()
  let rest = ''
  try {
    for (;;) {
      const { value, done } = await reader.read()
      if (done) return
      const text = rest + value
      const events = []
      let start = 0
      for (let end = text.indexOf('\n\n'); end !== -1; start = end + 2, end = text.indexOf('\n\n', start)) {
        const event = eventOf(text.slice(start, end))
        if (event.data) events.push(event)
      }
      rest = text.slice(start)
      if (events.length) yield events
    }
  } finally {
    reader.releaseLock()
  }
}

/**
 * @param {string} block An event's lines.
 * @returns {{ event: string, data: string, id?: string }}
 */
function eventOf (block) {
  /** @type {{ event: string, data: string, id?: string }} */
  const event = { event: 'message', data: '' }
  for (const line of block.split('\n')) {
    if (line.startsWith(':')) continue
    const colon = line.indexOf(':')
    const field = colon === -1 ? line : line.slice(0, colon)
    const value = colon === -1 ? '' : line.slice(line.startsWith(' ', colon + 1) ? colon + 2 : colon + 1)
    if (field === 'data') event.data += event.data ? `\n${value}` : value
    else if (field === 'event') event.event = value
    else if (field === 'id') event.id = value
  }
  return event
}
