import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import type { FastifyInstance } from 'fastify'
import { AuditListSchema, AuditQuerySchema } from '../../../domain/schemas/audit.js'
import { errors } from './common.js'

export default async function auditRoutes (instance: FastifyInstance) {
  const fastify = instance.withTypeProvider<TypeBoxTypeProvider>()

  fastify.get(
    '/audit',
    {
      config: { scope: 'admin' },
      schema: {
        tags: ['audit'],
        summary: 'Who did what, newest first',
        description:
          'Every build made (by a token, a retry, or a trigger rule and its push), every cancel, and every token, webhook ' +
          'and trigger rule made, changed or removed, with who did it. Filter by `actor` (a token id, `admin`, a trigger ' +
          'rule id, or `operator`) and `kind`; page with `cursor`.',
        querystring: AuditQuerySchema,
        response: { 200: Type.Ref(AuditListSchema), ...errors(400, 503) }
      }
    },
    async (request) => {
      const { actor, kind, cursor, limit = 50 } = request.query
      return fastify.audit.list({ actor, kind, cursor, limit })
    }
  )
}
