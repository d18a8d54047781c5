import type { Readable } from 'node:stream'
import { packageVersion } from '../package-info.js'
import type { ErrorBody } from '../domain/schemas/error.js'
import { UsageError } from './exit-codes.js'

/** The API answered 4xx or 5xx; `code` is its stable reason (every 4xx has one). */
export class ApiError extends Error {
  override name = 'ApiError'
  constructor (
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details: ErrorBody['details'] = []
  ) {
    super(message)
  }
}

/** No answer came: the server is down, the URL is wrong, or the network is. */
export class ConnectionError extends Error {
  override name = 'ConnectionError'
}

export interface RequestOptions {
  json?: unknown
  /** A streamed body (an upload), sent with `contentType`. */
  body?: Readable
  contentType?: string
  query?: Record<string, string | number | boolean | undefined>
  headers?: Record<string, string>
  signal?: AbortSignal
}

export interface ApiClient {
  /** The response of a 2xx answer; any other answer throws ApiError, no answer ConnectionError. */
  send(method: string, path: string, options?: RequestOptions): Promise<Response>
  /** The JSON body of a 2xx answer. */
  json<T>(method: string, path: string, options?: RequestOptions): Promise<T>
}

/**
 * The HTTP API as the CLI uses it. `url` may carry a path (a Slipway behind a proxy at
 * https://ci.example.com/slipway); API paths are resolved under it.
 */
export function createApiClient (url: string | undefined, token: string | undefined): ApiClient {
  if (!url) throw new UsageError('Set SLIPWAY_URL (or --url) to the Slipway server, e.g. SLIPWAY_URL=https://slipway.example.com')
  if (!token) throw new UsageError('Set SLIPWAY_TOKEN (or --token) to an API token; `slipway token create --help` says how to make one')
  let base: URL
  try {
    base = new URL(url.endsWith('/') ? url : `${url}/`)
  } catch {
    throw new UsageError(`SLIPWAY_URL '${url}' is not a URL; give it as http(s)://host[:port]`)
  }
  if (base.protocol !== 'http:' && base.protocol !== 'https:') throw new UsageError(`SLIPWAY_URL '${url}' must start with http:// or https://`)

  const send = async (method: string, path: string, options: RequestOptions = {}): Promise<Response> => {
    const target = new URL(path.replace(/^\//, ''), base)
    for (const [name, value] of Object.entries(options.query ?? {})) if (value !== undefined) target.searchParams.set(name, String(value))
    const headers: Record<string, string> = { authorization: `Bearer ${token}`, 'user-agent': `slipway-cli/${packageVersion}`, ...options.headers }
    let body: string | Readable | undefined
    if (options.json !== undefined) {
      headers['content-type'] = 'application/json'
      body = JSON.stringify(options.json)
    } else if (options.body) {
      headers['content-type'] = options.contentType ?? 'application/octet-stream'
      body = options.body
    }
    let response: Response
    try {
      // A stream body needs duplex 'half' (fetch's rule for request bodies sent while reading the answer).
      response = await fetch(target, { method, headers, body: body as RequestInit['body'], signal: options.signal ?? null, ...(options.body ? { duplex: 'half' } : {}) })
    } catch (error) {
      if (options.signal?.aborted) throw error
      throw new ConnectionError(`cannot reach Slipway at ${base.href}: ${reasonOf(error)}`)
    }
    if (response.ok) return response
    throw await apiErrorOf(response)
  }
  return {
    send,
    json: async <T>(method: string, path: string, options?: RequestOptions) => (await (await send(method, path, options)).json()) as T
  }
}

async function apiErrorOf (response: Response): Promise<ApiError> {
  const text = await response.text().catch(() => '')
  try {
    const body = JSON.parse(text) as Partial<ErrorBody>
    if (typeof body.code === 'string' && typeof body.message === 'string') return new ApiError(response.status, body.code, body.message, body.details)
  } catch {
    // Not Slipway's JSON: a proxy or load balancer answered.
  }
  const excerpt = text.replace(/\s+/g, ' ').trim().slice(0, 200)
  return new ApiError(response.status, `HTTP_${response.status}`, `${response.statusText || 'error'}${excerpt ? `: ${excerpt}` : ''}`)
}

/** fetch says only "fetch failed"; the cause (ECONNREFUSED, ENOTFOUND, a TLS error) is what helps. */
function reasonOf (error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause
  return cause?.code ?? cause?.message ?? (error as Error).message
}
