import { execFile } from 'node:child_process'
import { generateKeyPairSync } from 'node:crypto'
import { writeFile } from 'node:fs/promises'
import path from 'node:path'
import { promisify } from 'node:util'
import t from 'tap'
import { tempFolder } from '../helpers/files.js'
import { createRepo } from '../helpers/git-repo.js'
import { startRegistry } from '../helpers/registry.js'
import { startSlipway } from '../helpers/slipway.js'
import { startReceiver } from '../helpers/webhook-receiver.js'
import type { Build } from '../../src/domain/schemas/build.js'

// Signatures and attestations of pushed images, found the way a deploy pipeline finds them: from the
// image's digest alone, by walking the registry's tags and referrers, and checked with openssl
// against the public key the server serves, never with Slipway's own code.

const exec = promisify(execFile)
const MANIFEST_TYPES = 'application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.v2+json'

interface Descriptor { mediaType: string; digest: string; size: number; artifactType?: string; annotations?: Record<string, string> }
interface Manifest { mediaType?: string; artifactType?: string; layers: Descriptor[]; subject?: Descriptor; manifests?: Descriptor[]; annotations?: Record<string, string> }
interface Envelope { payloadType: string; payload: string; signatures: { keyid: string; sig: string }[] }

/** Reads a registry the way any client would: tags, manifests and blobs over plain HTTP. */
function registryReader (host: string, repository: string) {
  const base = `http://${host}/v2/${repository}`
  return {
    tags: async () => ((await (await fetch(`${base}/tags/list`)).json()) as { tags: string[] }).tags,
    manifest: async (reference: string) => {
      const response = await fetch(`${base}/manifests/${reference}`, { headers: { accept: MANIFEST_TYPES } })
      return response.ok ? ((await response.json()) as Manifest) : null
    },
    blob: async (digest: string) => Buffer.from(await (await fetch(`${base}/blobs/${digest}`)).arrayBuffer())
  }
}

/** DSSE's pre-authentication encoding, written here from the spec rather than taken from Slipway. */
const pae = (type: string, body: Buffer) => Buffer.concat([Buffer.from(`DSSEv1 ${Buffer.byteLength(type)} ${type} ${body.length} `), body])

/** openssl's verdict on a base64 DER signature of `data` by the PEM public key in `keyFile`. */
async function opensslVerifies (dir: string, keyFile: string, data: Buffer, signature: string): Promise<boolean> {
  const name = Math.random().toString(36).slice(2)
  const dataFile = path.join(dir, `${name}.data`)
  const sigFile = path.join(dir, `${name}.sig`)
  await writeFile(dataFile, data)
  await writeFile(sigFile, Buffer.from(signature, 'base64'))
  const result = await exec('openssl', ['dgst', '-sha256', '-verify', keyFile, '-signature', sigFile, dataFile]).then((r) => r.stdout, (error: { stdout?: string }) => error.stdout ?? '')
  return result.trim() === 'Verified OK'
}

function newSigningKey (): string {
  return generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString()
}

t.test('a pushed image is signed, and its provenance and SBOM are attached where cosign and OCI referrers look', async (t) => {
  const dir = await tempFolder(t)
  const registry = await startRegistry(t)
  const slipway = await startSlipway(t, { signingKey: newSigningKey(), webhookAllow: '127.0.0.1/32' })
  const receiver = await startReceiver(t)
  const repo = await createRepo(t, {
    Dockerfile: 'FROM busybox\nCOPY app /app\n',
    'app/node_modules/left-pad/package.json': '{"name":"left-pad","version":"1.3.0","license":"WTFPL"}\n'
  })
  const image = `${registry.host}/team/signed`
  const build = await slipway.build({ repo: repo.url, image, tags: ['v1'], webhooks: [{ url: `${receiver.url}/signed`, events: ['build.succeeded'] }] })
  t.equal(build.status, 'succeeded', JSON.stringify(build.error))
  t.same(build.warnings, [])
  const [delivery] = await receiver.waitFor(1)
  const event = JSON.parse(delivery!.body) as { data: Build }
  t.same([event.data.signature, event.data.attestations], [build.signature, build.attestations], 'the webhook carries the signature and the attestation references')
  t.match(build.phases.map((phase) => [phase.name, phase.status]), [['clone', 'succeeded'], ['context', 'succeeded'], ['build', 'succeeded'], ['inspect', 'succeeded'], ['push', 'succeeded'], ['attest', 'succeeded']])

  const keyAnswer = await slipway.app.inject({ method: 'GET', url: '/v1/signing-key' })
  t.equal(keyAnswer.statusCode, 200, 'the public key needs no token')
  const served = keyAnswer.json<{ keyId: string; publicKey: string }>()
  const pem = await slipway.app.inject({ method: 'GET', url: '/v1/signing-key?format=pem' })
  t.equal(pem.body, served.publicKey)
  t.notMatch(keyAnswer.body, /PRIVATE/)
  const keyFile = path.join(dir, 'slipway.pub')
  await writeFile(keyFile, served.publicKey)

  // From here on, only the digest and the registry.
  const digest = build.image!.digest!
  const hex = digest.replace('sha256:', '')
  const reader = registryReader(registry.host, 'team/signed')
  t.same((await reader.tags()).sort(), ['v1', `sha256-${hex}`, `sha256-${hex}.att`, `sha256-${hex}.sig`].sort(), "cosign's tags and the referrers tag, beside the image's own")

  const signatures = (await reader.manifest(`sha256-${hex}.sig`))!
  t.equal(signatures.layers.length, 1)
  const [layer] = signatures.layers
  t.equal(layer!.mediaType, 'application/vnd.dev.cosign.simplesigning.v1+json')
  const payload = await reader.blob(layer!.digest)
  t.same(JSON.parse(payload.toString()), {
    critical: { identity: { 'docker-reference': image }, image: { 'docker-manifest-digest': digest }, type: 'cosign container image signature' },
    optional: null
  })
  const signature = layer!.annotations!['dev.cosignproject.cosign/signature']!
  t.ok(await opensslVerifies(dir, keyFile, payload, signature), "openssl verifies the image's signature with the served key")
  t.notOk(await opensslVerifies(dir, keyFile, Buffer.from(payload.toString().replace(hex, '0'.repeat(64))), signature), 'and refuses it for another digest')
  t.match(build.signature, { keyId: served.keyId, reference: `${image}@sha256:` })

  const attestations = (await reader.manifest(`sha256-${hex}.att`))!
  const predicateTypes = attestations.layers.map((entry) => entry.annotations?.predicateType)
  t.same(predicateTypes, ['https://slsa.dev/provenance/v1', 'https://spdx.dev/Document', 'https://cyclonedx.org/bom'])
  const statements = new Map<string, { subject: { name: string; digest: { sha256: string } }[]; predicate: unknown }>()
  for (const entry of attestations.layers) {
    t.equal(entry.mediaType, 'application/vnd.dsse.envelope.v1+json')
    const envelope = JSON.parse((await reader.blob(entry.digest)).toString()) as Envelope
    const body = Buffer.from(envelope.payload, 'base64')
    t.equal(envelope.payloadType, 'application/vnd.in-toto+json')
    t.equal(envelope.signatures.length, 1)
    t.ok(await opensslVerifies(dir, keyFile, pae(envelope.payloadType, body), envelope.signatures[0]!.sig), `openssl verifies the ${entry.annotations!.predicateType} envelope`)
    const statement = JSON.parse(body.toString())
    t.same(statement.subject, [{ name: image, digest: { sha256: hex } }], 'about the pushed digest')
    statements.set(entry.annotations!.predicateType!, statement)
  }
  const answer = async (url: string) => (await slipway.app.inject({ method: 'GET', url })).json()
  t.same(statements.get('https://slsa.dev/provenance/v1'), await answer(`/v1/builds/${build.id}/provenance`), 'the attached provenance is the one the API serves')
  t.same(statements.get('https://spdx.dev/Document')?.predicate, await answer(`/v1/builds/${build.id}/sbom`), 'so is the SPDX document')
  t.same(statements.get('https://cyclonedx.org/bom')?.predicate, await answer(`/v1/builds/${build.id}/sbom?format=cyclonedx`), 'and the CycloneDX one')

  // Distribution 2.8 has no referrers API: the referrers tag schema's index lists them instead.
  t.equal((await fetch(`http://${registry.host}/v2/team/signed/referrers/${digest}`)).status, 404, 'this registry has no referrers API')
  const index = (await reader.manifest(`sha256-${hex}`))!
  t.equal(index.manifests!.length, 3)
  const layerDigests = new Set(attestations.layers.map((entry) => entry.digest))
  for (const referrer of index.manifests!) {
    t.equal(referrer.artifactType, 'application/vnd.in-toto+json')
    const manifest = (await reader.manifest(referrer.digest))!
    t.equal(manifest.subject?.digest, digest, 'each referrer names the image as its subject')
    t.ok(layerDigests.has(manifest.layers[0]!.digest), 'and holds one of the envelopes')
    t.equal(manifest.annotations?.['in-toto.io/predicate-type'], referrer.annotations?.['in-toto.io/predicate-type'])
  }
  t.same(
    build.attestations!.map((entry) => [entry.predicateType, entry.digest, entry.signed]),
    attestations.layers.map((entry) => [entry.annotations!.predicateType, entry.digest, true]),
    'the build lists what it attached'
  )
  t.same(build.attestations!.map((entry) => entry.reference).sort(), index.manifests!.map((entry) => `${image}@${entry.digest}`).sort())

  // The same commit built again (force): its statements (its own id and times) join the earlier build's; the signature payload is the same one.
  const again = await slipway.build({ repo: repo.url, image, tags: ['v1'], force: true })
  t.equal(again.image!.digest, digest, 'the same image')
  t.equal((await reader.manifest(`sha256-${hex}.sig`))!.layers.length, 1, 'one signature payload: the same one, signed again')
  const both = (await reader.manifest(`sha256-${hex}.att`))!.layers.map((entry) => entry.digest)
  t.same(both.slice(0, 3), [...layerDigests], "the first build's envelopes are kept")
  t.same(both.slice(3), again.attestations!.map((entry) => entry.digest), "the second build's follow them")
  t.equal((await reader.manifest(`sha256-${hex}`))!.manifests!.length, 6, 'and the referrers index lists all six')
})

t.test('without a signing key nothing is signed, the build says so, and the envelopes are attached unsigned', async (t) => {
  const registry = await startRegistry(t, { username: 'builder', password: 's3cret-pa55' })
  const slipway = await startSlipway(t, { dockerConfig: await registry.writeDockerConfig() })
  const repo = await createRepo(t, { Dockerfile: 'FROM busybox\nRUN echo hi > /hi\n' })
  const build = await slipway.build({ repo: repo.url, image: `${registry.host}/team/unsigned` })
  t.equal(build.status, 'succeeded', JSON.stringify(build.error))
  t.equal(build.signature, null)
  t.same(build.warnings, [])
  t.same(build.attestations?.map((entry) => [entry.predicateType, entry.signed]), [['https://slsa.dev/provenance/v1', false], ['https://spdx.dev/Document', false], ['https://cyclonedx.org/bom', false]], 'attached through a registry that wants a password')
  t.match(await slipway.logs(build.id), /not signed: this server has no signing key \(SLIPWAY_SIGNING_KEY\)/)
  const key = await slipway.app.inject({ method: 'GET', url: '/v1/signing-key' })
  t.equal(key.statusCode, 404)
  t.match(key.json(), { code: 'NO_SIGNING_KEY' })
})

t.test('a request can ask for no signature and no attestations', async (t) => {
  const registry = await startRegistry(t)
  const slipway = await startSlipway(t, { signingKey: newSigningKey() })
  const repo = await createRepo(t, { Dockerfile: 'FROM busybox\nRUN echo hi > /hi\n' })
  const build = await slipway.build({ repo: repo.url, image: `${registry.host}/team/plain`, sign: false, sbom: false, provenance: false })
  t.equal(build.status, 'succeeded', JSON.stringify(build.error))
  t.equal(build.signature, null)
  t.equal(build.attestations, null)
  t.match(build.phases.find((phase) => phase.name === 'attest'), { status: 'skipped' })
  t.match(await slipway.logs(build.id), /not signed: the request asked for no signature \(sign: false\)/)
  const tags = ((await (await fetch(`http://${registry.host}/v2/team/plain/tags/list`)).json()) as { tags: string[] }).tags
  t.same(tags, [build.commit!.slice(0, 12)], 'nothing beside the image')
})

t.test("a tag that stands where an image's signatures are kept is refused", async (t) => {
  const slipway = await startSlipway(t, { signingKey: newSigningKey() })
  const repo = await createRepo(t, { Dockerfile: 'FROM busybox\n' })
  for (const tag of [`sha256-${'a'.repeat(64)}.sig`, `sha256-${'b'.repeat(64)}.att`, `sha256-${'c'.repeat(64)}`]) {
    const response = await slipway.app.inject({
      method: 'POST',
      url: '/v1/builds',
      payload: { repo: repo.url, image: 'localhost:5000/team/app', tags: [tag] }
    })
    t.equal(response.statusCode, 400, tag)
    t.match(response.json(), { code: 'TAG_RESERVED', message: /signatures and attestations/ })
  }
})
