import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { Type } from '@sinclair/typebox'
import type { FastifyInstance } from 'fastify'
import { StorageReportSchema } from '../../../domain/schemas/storage.js'
import { errors } from './common.js'

export default async function adminRoutes (instance: FastifyInstance) {
  const fastify = instance.withTypeProvider<TypeBoxTypeProvider>()

  fastify.get(
    '/admin/storage',
    {
      config: { scope: 'admin' },
      schema: {
        tags: ['admin'],
        summary: 'What Slipway keeps, and where',
        description:
          'Build records and logs by age, Redis memory and keys by kind, each live worker with its Docker host ' +
          '(image and build-cache bytes, free disk, git mirrors, whether it is paused), and what the last retention ' +
          'sweep removed. Logs and keys are as of the last key count (every 5 minutes, `keysCountedAt`); hosts as of ' +
          'their last report (every minute). See docs/operations/retention.md.',
        response: { 200: Type.Ref(StorageReportSchema), ...errors(503) }
      }
    },
    async () => fastify.storageReport.report()
  )
}
