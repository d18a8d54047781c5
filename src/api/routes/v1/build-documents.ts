import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import type { FastifyInstance } from 'fastify'
import { BuildIdParams, errors } from './common.js'

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

export default async function buildDocumentRoutes (instance: FastifyInstance) {
  const fastify = instance.withTypeProvider<TypeBoxTypeProvider>()
  fastify.addSchema(ProvenanceStatementSchema)

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
}
