import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import type { FastifyInstance } from 'fastify'
import { adviseDockerfile, ADVISOR_RULES } from '../../../domain/insight/advisor.js'
import { parseDockerfile } from '../../../domain/insight/dockerfile-stages.js'
import { FindingSchema } from '../../../domain/schemas/insight.js'
import { errors } from './common.js'

const LintRequest = Type.Object(
  {
    dockerfile: Type.String({ minLength: 1, maxLength: 1024 * 1024, description: "The Dockerfile's text" }),
    target: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$', description: 'The stage that would be built' })),
    buildArgs: Type.Optional(Type.Record(Type.String(), Type.String({ maxLength: 32_768 }), { maxProperties: 64 }))
  },
  { additionalProperties: false }
)

const SizeHistoryQuery = Type.Object(
  {
    ref: Type.Optional(Type.String({ maxLength: 255, description: 'Only builds of this ref (as asked, or as it resolved: main or refs/heads/main)' })),
    dockerfile: Type.Optional(Type.String({ maxLength: 1024 })),
    target: Type.Optional(Type.String({ maxLength: 128 })),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 100 }))
  },
  { additionalProperties: false }
)

const SizePoint = Type.Object(
  {
    buildId: Type.String(),
    finishedAt: Type.String({ format: 'date-time' }),
    ref: Type.Union([Type.String(), Type.Null()]),
    commit: Type.String(),
    dockerfile: Type.String(),
    target: Type.Union([Type.String(), Type.Null()]),
    sizeBytes: Type.Integer(),
    baseBytes: Type.Integer(),
    addedBytes: Type.Integer(),
    maxImageBytes: Type.Union([Type.Integer(), Type.Null()])
  },
  { additionalProperties: false }
)

export default async function insightRoutes (instance: FastifyInstance) {
  const fastify = instance.withTypeProvider<TypeBoxTypeProvider>()
  const tags = ['insight']

  fastify.post(
    '/lint',
    {
      config: { scope: 'builds:read' },
      schema: {
        tags,
        summary: 'Check a Dockerfile against the size rules, without building',
        description: `The advisor's rules: ${Object.entries(ADVISOR_RULES)
          .map(([rule, { title }]) => `\`${rule}\` (${title})`)
          .join('; ')}. A build also weighs each finding by the bytes of the layers it points at.`,
        body: LintRequest,
        response: { 200: Type.Object({ findings: Type.Array(Type.Ref(FindingSchema)) }, { additionalProperties: false }), ...errors(400, 503) }
      }
    },
    async (request) => {
      const dockerfile = parseDockerfile(request.body.dockerfile, request.body.buildArgs ?? {})
      return { findings: adviseDockerfile({ dockerfile, target: request.body.target ?? null }) }
    }
  )

  fastify.get(
    '/repos/:repo/sizes',
    {
      config: { scope: 'builds:read' },
      schema: {
        tags,
        summary: "A repository's image sizes over time, oldest first, for a chart",
        description: 'One point per succeeded build. `repo` is the repository URL or its key (host/path), URL-encoded.',
        params: Type.Object({ repo: Type.String({ minLength: 1, maxLength: 2048 }) }),
        querystring: SizeHistoryQuery,
        response: { 200: Type.Object({ items: Type.Array(SizePoint) }, { additionalProperties: false }), ...errors(400, 503) }
      }
    },
    async (request) => ({ items: await fastify.builds.sizeHistory(request.params.repo, { ...request.query, limit: request.query.limit ?? 100 }) })
  )
}
