import { Ajv, type ErrorObject } from 'ajv'
import addFormats from 'ajv-formats'
import type { FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { buildSchemas } from '../../domain/schemas/build.js'
import { ErrorSchema } from '../../domain/schemas/error.js'
import { insightSchemas } from '../../domain/schemas/insight.js'
import { tokenSchemas } from '../../domain/schemas/token.js'
import { auditSchemas } from '../../domain/schemas/audit.js'
import { StorageReportSchema } from '../../domain/schemas/storage.js'
import { secretSchemas } from '../../domain/schemas/secret.js'
import { triggerSchemas } from '../../domain/schemas/trigger.js'
import { webhookSchemas } from '../../domain/schemas/webhook.js'

export const sharedSchemas = [...auditSchemas, ...insightSchemas, ...buildSchemas, ...webhookSchemas, ...triggerSchemas, ...tokenSchemas, ...secretSchemas, StorageReportSchema, ErrorSchema]

/**
 * Request validation that says no rather than guessing: a body with an unknown field or a wrong
 * type is a 400. Query strings and path parameters are text by nature, so only they are coerced.
 */
export default fp(
  async function validation (fastify: FastifyInstance) {
    const strict = createAjv({ coerceTypes: false })
    const coercing = createAjv({ coerceTypes: true })
    for (const schema of sharedSchemas) {
      fastify.addSchema(schema)
      strict.addSchema(schema)
      coercing.addSchema(schema)
    }
    fastify.setValidatorCompiler(({ schema, httpPart, contentType }) => {
      // A body other than JSON (an uploaded tar, a form carrying one) is a stream its route reads
      // and checks as it arrives; its schema only describes it.
      if (httpPart === 'body' && contentType !== undefined && contentType !== 'application/json') return () => true
      return (httpPart === 'body' ? strict : coercing).compile(schema)
    })
  },
  { name: 'validation' }
)

function createAjv (options: { coerceTypes: boolean }): Ajv {
  const ajv = new Ajv({
    ...options,
    removeAdditional: false,
    useDefaults: true,
    allErrors: true,
    verbose: true,
    strict: false
  })
  addFormats.default(ajv)
  return ajv
}

/** Ajv's findings as one line per problem a person can act on, e.g. "body.tags[0]: must match …". */
export function describeValidationErrors (errors: ErrorObject[], part: string): { path: string; message: string }[] {
  // A bad key in a map (buildArgs, labels) is reported twice by Ajv; the inner error names the key.
  return errors
    .filter((error) => error.keyword !== 'propertyNames')
    .map((error) => {
      const path = part + error.instancePath.replace(/\/(\d+)(?=\/|$)/g, '[$1]').replace(/\//g, '.')
      const description = (error.parentSchema as { description?: string } | undefined)?.description
      const hint = description ? ` (${description})` : ''
      const key = (error as ErrorObject & { propertyName?: string }).propertyName
      if (key !== undefined) return { path: `${path}.${key}`, message: `the name '${key}' ${error.message ?? 'is invalid'}` }
      switch (error.keyword) {
        case 'additionalProperties': {
          const field = (error.params as { additionalProperty: string }).additionalProperty
          const allowed = Object.keys((error.parentSchema as { properties?: object } | undefined)?.properties ?? {})
          return { path: `${path}.${field}`, message: `unknown field${allowed.length ? ` (known fields: ${allowed.join(', ')})` : ''}` }
        }
        case 'required':
          return { path: `${path}.${(error.params as { missingProperty: string }).missingProperty}`, message: 'is required' }
        default:
          return { path, message: `${error.message ?? 'is invalid'}${hint}` }
      }
    })
}
