import type { Attestation, Signature } from '../../src/domain/schemas/build.js'
import { DSSE_MEDIA_TYPE, IN_TOTO_PAYLOAD_TYPE, inTotoEnvelope } from '../../src/domain/supply-chain/dsse.js'
import {
  blobOf,
  COSIGN_PREDICATE_ANNOTATION,
  COSIGN_SIGNATURE_ANNOTATION,
  cosignImage,
  cosignTag,
  OCI_INDEX,
  OCI_MANIFEST,
  PREDICATE_TYPE_ANNOTATION,
  referrerArtifact,
  referrersIndex,
  referrersTag,
  SIMPLE_SIGNING_MEDIA_TYPE,
  simpleSigningPayload,
  type Blob,
  type Descriptor,
  type ManifestToPush
} from '../../src/domain/supply-chain/oci-artifacts.js'
import type { SigningKey } from '../../src/domain/supply-chain/signing-key.js'
import type { Statement } from '../../src/domain/supply-chain/statements.js'
import type { RegistryClient } from '../registry/registry-client.js'

export interface AttestInput {
  registry: RegistryClient
  /** The image repository, as its tags name it: localhost:5000/team/app. */
  repository: string
  /** The pushed manifest's digest. */
  digest: string
  statements: Statement[]
  /** Null: nothing is signed (the envelopes are attached unsigned). */
  key: SigningKey | null
  log: (text: string) => void
}

// Docker's media types, for a registry that serves the image as the engine pushed it.
const IMAGE_MANIFESTS = [OCI_MANIFEST, OCI_INDEX, 'application/vnd.docker.distribution.manifest.v2+json', 'application/vnd.docker.distribution.manifest.list.v2+json']

/**
 * Signs the image (cosign's `.sig` tag) and attaches each statement in a DSSE envelope, in cosign's
 * `.att` tag and as an OCI 1.1 referrer of the image, so verifiers find them from its digest alone.
 * What the registry already holds under those tags (another signer's signature, an earlier build
 * of the same digest) is kept: cosign appends to them too.
 */
export async function attachToImage (input: AttestInput): Promise<{ attestations: Attestation[]; signature: Signature | null }> {
  const envelopes = input.statements.map(({ predicateType, statement }) => ({
    predicateType,
    blob: blobOf(Buffer.from(JSON.stringify(inTotoEnvelope(statement, input.key?.sign ?? null))), DSSE_MEDIA_TYPE, { [COSIGN_PREDICATE_ANNOTATION]: predicateType })
  }))
  // Each is a round trip or a few to the registry, and none needs another: side by side.
  const [signature, references] = await Promise.all([
    input.key ? signImage(input, input.key) : null,
    envelopes.length > 0 ? pushReferrers(input, envelopes) : [],
    envelopes.length > 0 ? appendToCosignTag(input, 'att', envelopes.map((envelope) => envelope.blob)) : null
  ])
  if (envelopes.length === 0) return { attestations: [], signature }
  input.log(`Attached ${envelopes.map((envelope) => envelope.predicateType).join(', ')} (${input.key ? 'signed' : 'not signed'}) as ${input.repository}:${cosignTag(input.digest, 'att')} and as referrers of the image`)
  return {
    attestations: envelopes.map((envelope, index) => ({ predicateType: envelope.predicateType, digest: envelope.blob.descriptor.digest, reference: references[index]!, signed: input.key !== null })),
    signature
  }
}

async function signImage (input: AttestInput, key: SigningKey): Promise<Signature> {
  const payload = simpleSigningPayload(input.repository, input.digest)
  const layer = blobOf(payload, SIMPLE_SIGNING_MEDIA_TYPE, { [COSIGN_SIGNATURE_ANNOTATION]: key.sign(payload) })
  const manifest = await appendToCosignTag(input, 'sig', [layer])
  input.log(`Signed ${input.digest} with key ${key.keyId}: ${input.repository}:${cosignTag(input.digest, 'sig')}`)
  return { keyId: key.keyId, reference: `${input.repository}@${manifest.descriptor.digest}` }
}

/** The cosign tag with `added` after the layers it has (a layer of the same digest is not repeated); the manifest written. */
async function appendToCosignTag (input: AttestInput, kind: 'sig' | 'att', added: Blob[]): Promise<Blob> {
  const tag = cosignTag(input.digest, kind)
  const existing = await input.registry.getManifest(tag, [OCI_MANIFEST])
  const kept = existing ? ((JSON.parse(existing.body.toString()) as { layers?: Descriptor[] }).layers ?? []) : []
  const digests = new Set(added.map((blob) => blob.descriptor.digest))
  const image = cosignImage([...kept.filter((layer) => !digests.has(layer.digest)), ...added.map((blob) => blob.descriptor)])
  await pushManifest(input.registry, tag, { manifest: image.manifest, blobs: [...image.blobs, ...added] })
  return image.manifest
}

/** Each envelope as an artifact whose subject is the image; where the registry has no referrers API, listed in the referrers tag's index. */
async function pushReferrers (input: AttestInput, envelopes: { predicateType: string; blob: Blob }[]): Promise<string[]> {
  const subject = await input.registry.descriptorOf(input.digest, IMAGE_MANIFESTS)
  const pushed = await Promise.all(
    envelopes.map(async ({ predicateType, blob }) => {
      const annotations = { [PREDICATE_TYPE_ANNOTATION]: predicateType }
      const artifact = referrerArtifact(subject, IN_TOTO_PAYLOAD_TYPE, [blob], annotations)
      const { subjectTaken } = await pushManifest(input.registry, artifact.manifest.descriptor.digest, artifact)
      return { descriptor: { ...artifact.manifest.descriptor, artifactType: IN_TOTO_PAYLOAD_TYPE, annotations }, subjectTaken }
    })
  )
  const unindexed = pushed.filter((referrer) => !referrer.subjectTaken).map((referrer) => referrer.descriptor)
  if (unindexed.length > 0) {
    const tag = referrersTag(input.digest)
    const existing = await input.registry.getManifest(tag, [OCI_INDEX])
    await input.registry.putManifest(tag, referrersIndex(existing && (JSON.parse(existing.body.toString()) as { manifests?: Descriptor[] }), unindexed))
  }
  return pushed.map((referrer) => `${input.repository}@${referrer.descriptor.digest}`)
}

async function pushManifest (registry: RegistryClient, reference: string, { manifest, blobs }: ManifestToPush) {
  await Promise.all(blobs.map((blob) => registry.putBlob(blob)))
  return registry.putManifest(reference, manifest)
}
