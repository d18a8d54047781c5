import type { BaseImage, Build } from '../schemas/build.js'
import { isSecretArg } from '../insight/step-facts.js'
import { DOCKER_HUB, splitImageName } from '../builds/image-ref.js'

// A SLSA v1 provenance statement (https://slsa.dev/spec/v1.0/provenance) in an in-toto v1
// Statement (https://github.com/in-toto/attestation/blob/main/spec/v1/statement.md): what was
// built (the pushed image's digest), from what (the commit or upload, the base images), how (the
// request's parameters) and by whom (this Slipway). Written from the build record alone, so any
// API process serves the same statement for a build.

export const STATEMENT_TYPE = 'https://in-toto.io/Statement/v1' as const
export const SLSA_PROVENANCE_V1 = 'https://slsa.dev/provenance/v1' as const
/**
 * What `externalParameters` and `internalParameters` mean is Slipway's to say: this names that
 * description (docs/guides/sbom.md#provenance). A URN, as Slipway has no address of its own to
 * put there; it changes only when the parameters' meaning does.
 */
export const BUILD_TYPE = 'urn:slipway:build-type:dockerfile:v1'

export interface Installation {
  /** This Slipway's public URL (SLIPWAY_PUBLIC_URL): the builder's id. */
  publicUrl: string
  version: string
}

/** Why a build has no provenance statement, or null when it has one. */
export function provenanceUnavailable (build: Build): string | null {
  if (!build.request.provenance) return 'its request did not ask for provenance (provenance: false, or a build that pushes nothing)'
  if (build.status !== 'succeeded') return `it has not succeeded (status ${build.status})`
  if (!build.image?.pushed || !build.image.digest) return 'it pushed no image, and a statement is about a pushed digest'
  return null
}

/** The statement of a succeeded build that pushed its image (provenanceUnavailable says null). */
export function provenanceStatement (build: Build, installation: Installation) {
  const { request, image } = build
  if (!image?.digest) throw new Error(`build ${build.id} pushed no image`)
  return {
    _type: STATEMENT_TYPE,
    subject: [{ name: image.repository, digest: { sha256: hexOf(image.digest) } }],
    predicateType: SLSA_PROVENANCE_V1,
    predicate: {
      buildDefinition: {
        buildType: BUILD_TYPE,
        externalParameters: {
          source: request.source
            ? { upload: { sha256: request.source.sha256, sizeBytes: request.source.sizeBytes } }
            : { repository: request.repo, ref: request.ref },
          context: request.context,
          dockerfile: request.dockerfile,
          target: request.target,
          buildArgs: Object.fromEntries(Object.entries(request.buildArgs).map(([name, value]) => [name, isSecretArg(name) ? '(redacted)' : value])),
          labels: request.labels,
          tags: image.tags,
          noCache: request.noCache,
          network: request.network,
          // Named, never their values.
          secrets: request.secrets,
          ssh: request.ssh
        },
        internalParameters: {
          builder: build.builder,
          engine: build.ranOn?.engine?.id ?? null
        },
        resolvedDependencies: [...sourceDependency(build), ...(build.baseImages ?? []).map(baseImageDependency)]
      },
      runDetails: {
        builder: { id: installation.publicUrl, version: { slipway: installation.version } },
        // When the image was pushed: what a statement attached at that moment says too.
        metadata: { invocationId: build.id, startedOn: build.startedAt, finishedOn: pushedAt(build) }
      }
    }
  }
}

export type ProvenanceStatement = ReturnType<typeof provenanceStatement>

function pushedAt (build: Build): string | null {
  return build.phases.findLast((phase) => phase.name === 'push' && phase.status === 'succeeded')?.finishedAt ?? build.finishedAt
}

function sourceDependency (build: Build) {
  const { request } = build
  if (request.source) return [{ uri: `upload:sha256:${request.source.sha256}`, digest: { sha256: request.source.sha256 } }]
  if (!build.commit || request.repo === null) return []
  return [{ uri: `git+${request.repo}${build.resolvedRef ? `@${build.resolvedRef}` : ''}`, digest: { gitCommit: build.commit } }]
}

/** A base image by the registry digest it was pulled by, or, for one the engine made itself, by its image id. */
function baseImageDependency (base: BaseImage) {
  const uri = dockerPurl(base.name, base.digest)
  return base.digest
    ? { uri, digest: { sha256: hexOf(base.digest) } }
    : { uri, digest: { sha256: hexOf(base.imageId) }, annotations: { digestOf: 'image config (the engine has no registry digest for it)' } }
}

/** The package URL of an image (purl's docker type): registry as repository_url, the tag as a qualifier, the digest as the version. */
function dockerPurl (name: string, digest: string | null): string {
  const [, reference = name, tag] = /^(.*?)(?::([\w][\w.-]*))?(?:@sha256:[0-9a-f]{64})?$/.exec(name) ?? []
  const { registry, path } = splitImageName(reference)
  const qualifiers = [...(registry === DOCKER_HUB ? [] : [`repository_url=${encodeURIComponent(registry)}`]), ...(tag ? [`tag=${encodeURIComponent(tag)}`] : [])]
  return `pkg:docker/${path}${digest ? `@${encodeURIComponent(digest)}` : ''}${qualifiers.length > 0 ? `?${qualifiers.join('&')}` : ''}`
}

const hexOf = (digest: string) => digest.replace(/^sha256:/, '')
