import { createHash, generateKeyPairSync } from 'node:crypto'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import t, { type Test } from 'tap'
import { parseSigningKey } from '../../../src/domain/supply-chain/signing-key.js'
import { attachToImage } from '../../../workers/phases/attest.js'
import { registryClient } from '../../../workers/registry/registry-client.js'

// The attest phase against a stand-in registry that has what Distribution 2.8 lacks: the OCI 1.1
// referrers API (it answers OCI-Subject) and token auth (a Bearer realm, as Docker Hub and most
// hosted registries do). Every call is recorded.

const sha256 = (bytes: Buffer) => `sha256:${createHash('sha256').update(bytes).digest('hex')}`
const IMAGE = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config: {}, layers: [] }))
const IMAGE_DIGEST = sha256(IMAGE)

async function standInRegistry (t: Test, options: { referrersApi: boolean }) {
  const blobs = new Map<string, Buffer>()
  const manifests = new Map<string, { type: string; body: Buffer }>([[IMAGE_DIGEST, { type: 'application/vnd.oci.image.manifest.v1+json', body: IMAGE }]])
  const calls: string[] = []
  const scopes: string[] = []
  const read = async (request: IncomingMessage) => {
    const chunks: Buffer[] = []
    for await (const chunk of request) chunks.push(chunk as Buffer)
    return Buffer.concat(chunks)
  }
  const handle = async (request: IncomingMessage, response: ServerResponse) => {
    const url = new URL(request.url!, 'http://registry')
    calls.push(`${request.method} ${url.pathname}`)
    if (url.pathname === '/token') {
      scopes.push(url.searchParams.get('scope') ?? '')
      const ok = request.headers.authorization === `Basic ${Buffer.from('builder:pw').toString('base64')}`
      response.writeHead(ok ? 200 : 401, { 'content-type': 'application/json' }).end(JSON.stringify(ok ? { token: 'tok-1' } : {}))
      return
    }
    if (request.headers.authorization !== 'Bearer tok-1') {
      response.writeHead(401, { 'www-authenticate': `Bearer realm="http://${request.headers.host}/token",service="stand-in",scope="repository:team/app:pull"` }).end()
      return
    }
    const [, , , , kind, reference] = url.pathname.split('/') // /v2/team/app/<kind>/<reference>
    if (kind === 'blobs' && reference === 'uploads' && request.method === 'POST') {
      response.writeHead(202, { location: '/v2/team/app/blobs/uploads/u1?state=x' }).end()
    } else if (kind === 'blobs' && request.method === 'PUT') {
      const body = await read(request)
      const digest = url.searchParams.get('digest')!
      if (sha256(body) === digest) blobs.set(digest, body)
      response.writeHead(sha256(body) === digest ? 201 : 400).end()
    } else if (kind === 'blobs') {
      response.writeHead(blobs.has(reference!) ? 200 : 404).end()
    } else if (kind === 'manifests' && request.method === 'PUT') {
      const body = await read(request)
      const parsed = JSON.parse(body.toString()) as { config?: { digest: string }; layers?: { digest: string }[]; subject?: unknown }
      const missing = [parsed.config, ...(parsed.layers ?? [])].filter((entry) => entry?.digest && !blobs.has(entry.digest))
      if (missing.length > 0) {
        response.writeHead(400).end('MANIFEST_BLOB_UNKNOWN')
        return
      }
      manifests.set(reference!, { type: request.headers['content-type']!, body })
      manifests.set(sha256(body), { type: request.headers['content-type']!, body })
      response.writeHead(201, { 'docker-content-digest': sha256(body), ...(options.referrersApi && parsed.subject ? { 'oci-subject': IMAGE_DIGEST } : {}) }).end()
    } else if (kind === 'manifests') {
      const found = manifests.get(reference!)
      if (!found) {
        response.writeHead(404).end()
        return
      }
      response.writeHead(200, { 'content-type': found.type, 'content-length': found.body.length, 'docker-content-digest': sha256(found.body) }).end(request.method === 'HEAD' ? undefined : found.body)
    } else {
      response.writeHead(404).end()
    }
  }
  const server = createServer((request, response) => {
    handle(request, response).catch(() => response.writeHead(500).end())
  })
  server.listen(0, '127.0.0.1')
  await new Promise((resolve) => server.once('listening', resolve))
  t.teardown(() => new Promise((resolve) => server.close(resolve)))
  const host = `127.0.0.1:${(server.address() as AddressInfo).port}`
  const client = registryClient({ host, path: 'team/app', auth: { username: 'builder', password: 'pw', serveraddress: host }, insecure: true, signal: new AbortController().signal })
  return { host, client, blobs, manifests, calls, scopes }
}

const key = parseSigningKey(generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString())
const statements = [{ predicateType: 'https://slsa.dev/provenance/v1', statement: { _type: 'https://in-toto.io/Statement/v1', predicate: {} } }]
const hex = IMAGE_DIGEST.replace('sha256:', '')

t.test('a registry with the referrers API indexes the referrers itself: no referrers tag is written', async (t) => {
  const registry = await standInRegistry(t, { referrersApi: true })
  const lines: string[] = []
  const result = await attachToImage({ registry: registry.client, repository: `${registry.host}/team/app`, digest: IMAGE_DIGEST, statements, key, log: (line) => lines.push(line) })
  t.ok(registry.manifests.has(`sha256-${hex}.sig`))
  t.ok(registry.manifests.has(`sha256-${hex}.att`))
  t.notOk(registry.manifests.has(`sha256-${hex}`), 'no fallback index')
  t.same(new Set(registry.scopes), new Set(['repository:team/app:pull,push']), "a token for this repository's pull and push, asked with the push credentials")
  t.equal(result.attestations.length, 1)
  const referrer = JSON.parse(registry.manifests.get(result.attestations[0]!.reference.split('@')[1]!)!.body.toString())
  t.same(referrer.subject, { mediaType: 'application/vnd.oci.image.manifest.v1+json', digest: IMAGE_DIGEST, size: IMAGE.length })
  t.match(lines.join('\n'), /Signed sha256:.* with key sha256:/)
})

t.test("another signer's signature under the .sig tag is kept; ours is added after it", async (t) => {
  const registry = await standInRegistry(t, { referrersApi: false })
  const theirs = { mediaType: 'application/vnd.dev.cosign.simplesigning.v1+json', digest: `sha256:${'e'.repeat(64)}`, size: 3, annotations: { 'dev.cosignproject.cosign/signature': 'theirs' } }
  registry.blobs.set(theirs.digest, Buffer.from('abc'))
  registry.manifests.set(`sha256-${hex}.sig`, { type: 'application/vnd.oci.image.manifest.v1+json', body: Buffer.from(JSON.stringify({ schemaVersion: 2, layers: [theirs] })) })
  await attachToImage({ registry: registry.client, repository: `${registry.host}/team/app`, digest: IMAGE_DIGEST, statements, key, log: () => {} })
  const layers = (JSON.parse(registry.manifests.get(`sha256-${hex}.sig`)!.body.toString()) as { layers: { annotations: Record<string, string> }[] }).layers
  t.equal(layers.length, 2)
  t.same(layers[0], theirs)
  t.ok(registry.manifests.has(`sha256-${hex}`), 'without the referrers API, the referrers tag lists ours')
})

t.test('a registry that refuses says who refused what', async (t) => {
  const registry = await standInRegistry(t, { referrersApi: false })
  const client = registryClient({ host: registry.host, path: 'team/app', auth: { username: 'builder', password: 'wrong', serveraddress: registry.host }, insecure: true, signal: new AbortController().signal })
  await t.rejects(attachToImage({ registry: client, repository: `${registry.host}/team/app`, digest: IMAGE_DIGEST, statements, key: null, log: () => {} }), /token service refused the worker \(HTTP 401\)/)
  t.notOk(registry.manifests.has(`sha256-${hex}.att`))
})

t.test('each blob is uploaded once, though the signature, the .att tag and every referrer name some of the same', async (t) => {
  // Two uploads of one blob at once let Distribution refuse a manifest naming it while the second
  // is committed ("blob unknown to registry"): seen on the demo, for an image with three statements.
  const registry = await standInRegistry(t, { referrersApi: false })
  const three = ['https://slsa.dev/provenance/v1', 'https://spdx.dev/Document', 'https://cyclonedx.org/bom'].map((predicateType) => ({ predicateType, statement: { _type: 'https://in-toto.io/Statement/v1', predicateType, predicate: {} } }))
  await attachToImage({ registry: registry.client, repository: `${registry.host}/team/app`, digest: IMAGE_DIGEST, statements: three, key, log: () => {} })
  const uploads = registry.calls.filter((call) => call === 'POST /v2/team/app/blobs/uploads/').length
  t.equal(uploads, registry.blobs.size, `${registry.blobs.size} blobs, one upload each`)
})
