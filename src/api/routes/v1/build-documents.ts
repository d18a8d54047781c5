import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import type { FastifyInstance } from 'fastify'
import { SBOM_FORMATS } from '../../../domain/sbom/sbom-document.js'
import { StringEnum } from '../../../domain/schemas/common.js'
import { NoSigningKey } from '../../../domain/errors.js'
import { BuildIdParams, errors } from './common.js'

// Each format's own media type; the documents are passed through whole.
const SBOM_MEDIA_TYPES = { spdx: 'application/spdx+json', cyclonedx: 'application/vnd.cyclonedx+json' } as const
const SbomDocumentSchema = Type.Object({}, {
  $id: 'SbomDocument',
  additionalProperties: true,
  description: 'An SPDX 2.3 JSON document (format=spdx) or a CycloneDX 1.5 JSON BOM (format=cyclonedx); docs/guides/sbom.md#software-bill-of-materials'
})
const SbomQuery = Type.Object(
  { format: Type.Optional(StringEnum(SBOM_FORMATS, { default: 'spdx', description: 'spdx: SPDX 2.3 JSON; cyclonedx: CycloneDX 1.5 JSON' })) },
  { additionalProperties: false }
)

// The in-toto Statement's envelope is fixed; its predicate is SLSA's, passed through whole.
const ProvenanceStatementSchema = Type.Object(
  {
    _type: Type.Literal('https://in-toto.io/Statement/v1'),
    subject: Type.Array(Type.Object({ name: Type.String(), digest: Type.Object({ sha256: Type.String() }) }), { description: 'The pushed image: its repository and manifest digest' }),
    predicateType: Type.Literal('https://slsa.dev/provenance/v1'),
    predicate: Type.Object({}, {
      additionalProperties: true,
      description: 'SLSA v1 provenance: buildDefinition (buildType, externalParameters, internalParameters, resolvedDependencies) and runDetails (builder, metadata); docs/guides/sbom.md#provenance'
    })
  },
  { $id: 'ProvenanceStatement', description: 'An in-toto v1 Statement whose predicate is SLSA v1 provenance' }
)

const SigningKeySchema = Type.Object(
  {
    keyId: Type.String({ description: 'sha256:<hex> of the public key (DER), as builds name it in signature.keyId' }),
    algorithm: Type.Literal('ecdsa-p256-sha256', { description: 'ECDSA on P-256 over SHA-256; signatures are DER, base64' }),
    publicKey: Type.String({ description: 'The public key, PEM (SubjectPublicKeyInfo): `cosign verify --key` and `openssl dgst -sha256 -verify` take it as it is' })
  },
  { $id: 'SigningKey', additionalProperties: false }
)
const SigningKeyQuery = Type.Object(
  { format: Type.Optional(StringEnum(['json', 'pem'] as const, { default: 'json', description: 'json: the key with its id; pem: the PEM file alone' })) },
  { additionalProperties: false }
)

export default async function buildDocumentRoutes (instance: FastifyInstance) {
  const fastify = instance.withTypeProvider<TypeBoxTypeProvider>()
  fastify.addSchema(ProvenanceStatementSchema)
  fastify.addSchema(SbomDocumentSchema)
  fastify.addSchema(SigningKeySchema)

  fastify.get(
    '/builds/:id/sbom',
    {
      config: { scope: 'builds:read' },
      schema: {
        tags: ['builds'],
        summary: "The software bill of materials of a build's image",
        description:
          'Every package in the final image (Debian and Alpine packages, Python distributions, npm packages, Go modules built into binaries) with its ' +
          'version, package URL, declared license and the layer (and Dockerfile instruction) that added it; packages a later layer removed are not ' +
          'listed. 409 SBOM_NOT_AVAILABLE, saying why, for a build whose packages were not listed: not asked for (sbom: false), still running, ' +
          'with variants, an image above the scan limit, or a server with SLIPWAY_SBOM=off.',
        params: BuildIdParams,
        querystring: SbomQuery,
        response: {
          200: { content: Object.fromEntries(Object.values(SBOM_MEDIA_TYPES).map((type) => [type, { schema: Type.Ref(SbomDocumentSchema) }])) },
          ...errors(400, 404, 409, 410, 503)
        }
      }
    },
    async (request, reply) => {
      const format = request.query.format ?? 'spdx'
      const document = await fastify.buildDocuments.sbom(request.params.id, format)
      return reply.type(SBOM_MEDIA_TYPES[format]).send(document)
    }
  )

  fastify.get(
    '/builds/:id/provenance',
    {
      config: { scope: 'builds:read' },
      schema: {
        tags: ['builds'],
        summary: "The SLSA v1 provenance statement of a build's pushed image",
        description:
          'What was built (the pushed digest), from what (the commit or upload, the base images by digest), how (the request, build args named like ' +
          'secrets redacted, secrets by id only) and by which Slipway. 409 PROVENANCE_NOT_AVAILABLE for a build that has not succeeded, pushed nothing, ' +
          'or asked for none (provenance: false), and on a server with SLIPWAY_PROVENANCE=off.',
        params: BuildIdParams,
        response: { 200: Type.Ref(ProvenanceStatementSchema), ...errors(404, 409, 410, 503) }
      }
    },
    async (request) => fastify.buildDocuments.provenance(request.params.id)
  )

  fastify.get(
    '/signing-key',
    {
      schema: {
        tags: ['builds'],
        summary: 'The public key pushed images are signed with',
        description:
          "Verifies the signatures this server makes: each pushed image's (cosign's `.sig` tag) and each attestation envelope's (DSSE). Public: no token needed. " +
          '404 NO_SIGNING_KEY on a server that signs nothing. After a key rotation this serves the new key only: keep the old public key for images signed before it (docs/guides/sbom.md#signatures).',
        querystring: SigningKeyQuery,
        response: {
          200: { content: { 'application/json': { schema: Type.Ref(SigningKeySchema) }, 'application/x-pem-file': { schema: Type.String() } } },
          ...errors(400, 404)
        }
      }
    },
    async (request, reply) => {
      const key = fastify.signingKey
      if (!key) throw new NoSigningKey()
      if (request.query.format === 'pem') return reply.type('application/x-pem-file').send(key.publicKeyPem)
      return reply.type('application/json').send({ keyId: key.keyId, algorithm: 'ecdsa-p256-sha256', publicKey: key.publicKeyPem })
    }
  )
}
