import { createHash } from 'node:crypto'

// The registry objects a signed, attested image is described by, in the layouts verifiers read:
// - cosign's tags beside the image (`cosign verify`, `verify-attestation`, `tree`): `sha256-<hex>.sig`
//   holds simple-signing payloads with their signature in an annotation, `sha256-<hex>.att` holds
//   DSSE envelopes annotated with their predicate type. Each is an OCI image manifest.
// - OCI 1.1 referrers: a manifest whose `subject` is the image, found by GET /v2/<name>/referrers/<digest>,
//   or where a registry has no such API, in the index tagged `sha256-<hex>` (the referrers tag schema).

export const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json'
export const OCI_INDEX = 'application/vnd.oci.image.index.v1+json'
export const OCI_IMAGE_CONFIG = 'application/vnd.oci.image.config.v1+json'
export const OCI_EMPTY = 'application/vnd.oci.empty.v1+json'
export const SIMPLE_SIGNING_MEDIA_TYPE = 'application/vnd.dev.cosign.simplesigning.v1+json'
export const COSIGN_SIGNATURE_ANNOTATION = 'dev.cosignproject.cosign/signature'
/** cosign's annotation on an attestation layer. */
export const COSIGN_PREDICATE_ANNOTATION = 'predicateType'
/** The same, on a referrer manifest, as in-toto and BuildKit name it. */
export const PREDICATE_TYPE_ANNOTATION = 'in-toto.io/predicate-type'

export interface Descriptor {
  mediaType: string
  digest: string
  size: number
  artifactType?: string
  annotations?: Record<string, string>
}

/** Bytes and the descriptor that names them. */
export interface Blob {
  descriptor: Descriptor
  bytes: Buffer
}

export function blobOf (bytes: Buffer, mediaType: string, annotations?: Record<string, string>): Blob {
  const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`
  return { bytes, descriptor: { mediaType, digest, size: bytes.length, ...(annotations ? { annotations } : {}) } }
}

/** A manifest to PUT, its config and layers to upload first. */
export interface ManifestToPush {
  manifest: Blob
  blobs: Blob[]
}

/** The tag cosign keeps an image's signatures (`sig`) or attestations (`att`) under: sha256-<hex>.<kind>. */
export function cosignTag (imageDigest: string, kind: 'sig' | 'att'): string {
  return `${referrersTag(imageDigest)}.${kind}`
}

/** The referrers tag schema's tag for an image: its digest with ":" as "-". */
export function referrersTag (imageDigest: string): string {
  return imageDigest.replace(':', '-')
}

/** The simple-signing payload cosign signs for an image: its repository and manifest digest. */
export function simpleSigningPayload (repository: string, imageDigest: string): Buffer {
  return Buffer.from(
    JSON.stringify({
      critical: { identity: { 'docker-reference': repository }, image: { 'docker-manifest-digest': imageDigest }, type: 'cosign container image signature' },
      optional: null
    }),
    'utf8'
  )
}

/**
 * An image of layers only, as cosign writes its signature and attestation images: an OCI image
 * config naming each layer in rootfs, so registries that check images take it. Its blobs are the
 * config; the layers' own are the caller's to upload (some may be in the registry already).
 */
export function cosignImage (layers: Descriptor[]): ManifestToPush {
  const config = blobOf(
    Buffer.from(
      JSON.stringify({
        architecture: '',
        created: '0001-01-01T00:00:00Z',
        history: layers.map(() => ({ created: '0001-01-01T00:00:00Z' })),
        os: '',
        rootfs: { type: 'layers', diff_ids: layers.map((layer) => layer.digest) },
        config: {}
      })
    ),
    OCI_IMAGE_CONFIG
  )
  return manifestOf({ config: config.descriptor, layers }, [config])
}

/** An artifact that refers to `subject` (OCI 1.1): an empty config, its layers, its type. */
export function referrerArtifact (subject: Descriptor, artifactType: string, layers: Blob[], annotations: Record<string, string>): ManifestToPush {
  const empty = blobOf(Buffer.from('{}'), OCI_EMPTY)
  return manifestOf(
    { artifactType, config: empty.descriptor, layers: layers.map((layer) => layer.descriptor), subject: bareDescriptor(subject), annotations },
    [empty, ...layers]
  )
}

/** The referrers tag schema's index with `added` in it once (a descriptor of the same digest is replaced). */
export function referrersIndex (existing: { manifests?: Descriptor[] } | null, added: Descriptor[]): Blob {
  const digests = new Set(added.map((descriptor) => descriptor.digest))
  const kept = (existing?.manifests ?? []).filter((descriptor) => !digests.has(descriptor.digest))
  return blobOf(Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: [...kept, ...added] })), OCI_INDEX)
}

function manifestOf (fields: Record<string, unknown>, blobs: Blob[]): ManifestToPush {
  return { manifest: blobOf(Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST, ...fields })), OCI_MANIFEST), blobs }
}

function bareDescriptor (descriptor: Descriptor): Descriptor {
  return { mediaType: descriptor.mediaType, digest: descriptor.digest, size: descriptor.size }
}
