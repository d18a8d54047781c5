import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { ANY_TOKEN } from '../../domain/auth/tokens.js'
import { packageVersion } from '../../package-info.js'

/** The OpenAPI document, built from the route schemas, at /openapi.json, and Swagger UI at /docs. */
export default fp(
  async function openApi (fastify: FastifyInstance) {
    await fastify.register(swagger, {
      openapi: {
        openapi: '3.1.0',
        info: {
          title: 'Slipway',
          version: packageVersion,
          description:
            'Build-as-a-service for container images: give it a git repository, get back a pushed image with its ' +
            'digest, size, per-layer sizes, phase timings and logs. Every error is `{ statusCode, code, error, message }` ' +
            'with a stable `code`.'
        },
        tags: [
          { name: 'builds', description: 'Submit builds and read their results and logs' },
          { name: 'webhooks', description: 'Signed notifications of build events, their deliveries and retries' },
          { name: 'triggers', description: 'Builds started by pushes: trigger rules, and the endpoints GitHub and GitLab send push events to' },
          { name: 'tokens', description: 'API tokens and their scopes' },
          { name: 'secrets', description: 'Secrets and SSH keys Slipway holds for builds: written, never read back' },
          { name: 'audit', description: 'Who did what: builds, cancels, tokens, webhooks and trigger rules' },
          { name: 'insight', description: 'Where image bytes go, and what would remove them' },
          { name: 'admin', description: 'What the installation keeps: history, Redis, build hosts, retention' },
          { name: 'service', description: 'Health and readiness' }
        ],
        components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'An API token: `slipway token create`, or POST /v1/tokens' } } }
      },
      // A route that names a scope needs a token holding it; the document says which (none: any token).
      transform: ({ schema, url, route }) => {
        const scope = (route.config as { scope?: string } | undefined)?.scope
        return { url, schema: scope ? { ...schema, security: [{ bearer: scope === ANY_TOKEN ? [] : [scope] }] } : schema }
      },
      // Shared models keep their $id as their component name (#/components/schemas/Build).
      refResolver: { buildLocalReference: (json, _baseUri, _fragment, i) => (typeof json.$id === 'string' ? json.$id : `def-${i}`) }
    })
    await fastify.register(swaggerUi, { routePrefix: '/docs' })
    fastify.get('/openapi.json', { schema: { hide: true } }, async () => fastify.swagger())
  },
  { name: 'openapi' }
)
