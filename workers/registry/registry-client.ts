import type { Blob, Descriptor } from '../../src/domain/supply-chain/oci-artifacts.js'
import { DOCKER_HUB } from '../../src/domain/builds/image-ref.js'
import type { RegistryAuth } from '../docker/registry-auth.js'

// What the worker asks of a registry itself, beside the engine's push: upload small blobs, read and
// write manifests (https://github.com/opencontainers/distribution-spec/blob/main/spec.md). Auth as
// the engine does it: try, and on 401 answer the challenge (Basic, or a Bearer token from the realm
// for this repository's pull and push scope) with the credentials the push used.

export interface RegistryClientOptions {
  /** The registry host as the image names it: localhost:5000, registry.example.com, docker.io. */
  host: string
  /** The repository path in it: team/app. */
  path: string
  auth: RegistryAuth | undefined
  /** Plain HTTP, as the engine talks to it (a loopback registry, or one set as insecure on the engine). */
  insecure: boolean
  signal: AbortSignal
}

export class RegistryError extends Error {}

export interface Manifest {
  mediaType: string
  digest: string
  size: number
  body: Buffer
}

export function registryClient (options: RegistryClientOptions) {
  const origin = `${options.insecure ? 'http' : 'https'}://${options.host === DOCKER_HUB ? 'registry-1.docker.io' : options.host}`
  const base = `${origin}/v2/${options.path}`
  let authorization: string | undefined
  // Requests run side by side: the first 401 answers the challenge, and the others wait for that answer.
  let authorizing: Promise<string> | undefined

  async function send (method: string, url: string, init: { body?: Buffer; headers?: Record<string, string> } = {}): Promise<Response> {
    const attempt = (auth: string | undefined) =>
      fetch(url, {
        method,
        headers: { ...init.headers, ...(auth ? { authorization: auth } : {}) },
        ...(init.body ? { body: init.body } : {}),
        redirect: 'follow',
        signal: options.signal
      }).catch((error: Error) => {
        throw new RegistryError(`${options.host} could not be reached (${(error.cause as Error | undefined)?.message ?? error.message})`)
      })
    const sentWith = authorization
    const response = await attempt(sentWith)
    if (response.status !== 401 || (sentWith && sentWith === authorization)) return response
    await response.body?.cancel()
    // Sent before the answer was known (or by the first to be challenged): with it, once more.
    authorizing ??= answerChallenge(response.headers.get('www-authenticate') ?? '')
    authorization = await authorizing
    return attempt(authorization)
  }

  async function answerChallenge (challenge: string): Promise<string> {
    const basic = options.auth ? `Basic ${Buffer.from(`${options.auth.username}:${options.auth.password}`).toString('base64')}` : undefined
    if (/^basic/i.test(challenge)) {
      if (!basic) throw new RegistryError(`${options.host} wants credentials and the worker has none for it`)
      return basic
    }
    const params = Object.fromEntries([...challenge.matchAll(/(\w+)="([^"]*)"/g)].map((match) => [match[1]!.toLowerCase(), match[2]!]))
    if (!/^bearer/i.test(challenge) || !params.realm) throw new RegistryError(`${options.host} asked for an authentication the worker does not speak: ${challenge || '(none)'}`)
    const url = new URL(params.realm)
    if (params.service) url.searchParams.set('service', params.service)
    url.searchParams.set('scope', `repository:${options.path}:pull,push`)
    const answer = await fetch(url, { headers: basic ? { authorization: basic } : {}, signal: options.signal })
    if (!answer.ok) throw new RegistryError(`${options.host}'s token service refused the worker (HTTP ${answer.status})`)
    const { token, access_token: accessToken } = (await answer.json()) as { token?: string; access_token?: string }
    if (!token && !accessToken) throw new RegistryError(`${options.host}'s token service answered without a token`)
    return `Bearer ${token ?? accessToken}`
  }

  async function failed (response: Response, what: string): Promise<never> {
    const text = (await response.text().catch(() => '')).slice(0, 300).trim()
    throw new RegistryError(`${options.host} refused ${what} (HTTP ${response.status}${text ? `: ${text}` : ''})`)
  }

  // Blobs this client has uploaded or is uploading, by digest. Manifests pushed side by side share
  // blobs (the empty config, an envelope in both the .att tag and its referrer), and Distribution
  // can refuse a manifest naming a blob while a second upload of it is being committed.
  const uploads = new Map<string, Promise<void>>()

  /** Uploads a blob unless the registry has it (POST then PUT: the one upload every registry takes), once per digest. */
  function putBlob (blob: Blob): Promise<void> {
    const { digest } = blob.descriptor
    let upload = uploads.get(digest)
    if (!upload) {
      upload = uploadBlob(blob)
      uploads.set(digest, upload)
      // A failed upload may be tried again by a later push.
      upload.catch(() => uploads.delete(digest))
    }
    return upload
  }

  async function uploadBlob (blob: Blob): Promise<void> {
    const { digest } = blob.descriptor
    const head = await send('HEAD', `${base}/blobs/${digest}`)
    if (head.ok) return
    const started = await send('POST', `${base}/blobs/uploads/`)
    if (started.status !== 202) return failed(started, `an upload to ${options.path}`)
    const location = new URL(started.headers.get('location') ?? '', origin)
    location.searchParams.set('digest', digest)
    const put = await send('PUT', location.toString(), { body: blob.bytes, headers: { 'content-type': 'application/octet-stream' } })
    if (put.status !== 201) return failed(put, `the blob ${digest}`)
  }

  return {
    putBlob,

    /** PUTs a manifest under a tag or its digest; `subjectTaken`: the registry says it indexed the manifest's subject (OCI-Subject). */
    async putManifest (reference: string, manifest: Blob): Promise<{ subjectTaken: boolean }> {
      const response = await send('PUT', `${base}/manifests/${reference}`, { body: manifest.bytes, headers: { 'content-type': manifest.descriptor.mediaType } })
      if (response.status !== 201) return failed(response, `the manifest ${reference}`)
      await response.body?.cancel()
      return { subjectTaken: response.headers.has('oci-subject') }
    },

    /** A manifest by tag or digest; null when there is none. */
    async getManifest (reference: string, accept: string[]): Promise<Manifest | null> {
      const response = await send('GET', `${base}/manifests/${reference}`, { headers: { accept: accept.join(', ') } })
      if (response.status === 404) return null
      if (!response.ok) return failed(response, `reading the manifest ${reference}`)
      const body = Buffer.from(await response.arrayBuffer())
      const mediaType = (response.headers.get('content-type') ?? '').split(';')[0]!.trim()
      return { mediaType, digest: response.headers.get('docker-content-digest') ?? '', size: body.length, body }
    },

    /** The image's descriptor as the registry serves it: what a referrer names as its subject. */
    async descriptorOf (digest: string, accept: string[]): Promise<Descriptor> {
      const response = await send('HEAD', `${base}/manifests/${digest}`, { headers: { accept: accept.join(', ') } })
      if (!response.ok) return failed(response, `reading the image ${digest}`)
      const size = Number(response.headers.get('content-length'))
      const mediaType = (response.headers.get('content-type') ?? '').split(';')[0]!.trim()
      return { mediaType, digest, size }
    }
  }
}

export type RegistryClient = ReturnType<typeof registryClient>
