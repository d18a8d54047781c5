import type { FastifyError, FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { STATUS_CODES } from 'node:http'
import { BodyInvalid, BodyTooLarge, RedisUnavailable, RouteNotFound, UnsupportedMediaType } from '../errors.js'
import type { ErrorBody } from '../schemas/error.js'
import { describeValidationErrors } from './validation.js'

/**
 * Every error leaves as `{ statusCode, code, error, message }`. A 4xx explains itself to the
 * caller; a 5xx hides its cause (it is logged with the request id instead).
 */
export default fp(
  async function errorHandler(fastify: FastifyInstance, options: { isStoreDown: () => boolean }) {
    fastify.setErrorHandler((error: FastifyError, request, reply) => {
      const known = asKnownError(error, {
        isStoreDown: options.isStoreDown,
        bodyLimit: fastify.initialConfig.bodyLimit ?? 1024 * 1024,
        contentType: request.headers['content-type'] ?? ''
      })
      const statusCode = known.statusCode ?? 500
      if (statusCode >= 500) request.log.error({ err: error }, 'request failed')
      const body: ErrorBody = {
        statusCode,
        code: statusCode >= 500 && !known.code ? 'INTERNAL' : (known.code ?? 'BAD_REQUEST'),
        error: STATUS_CODES[statusCode] ?? 'Error',
        message:
          statusCode === 500
            ? `Slipway failed unexpectedly; the server log has the details under request id ${request.id}.`
            : known.message
      }
      if (error.validation) {
        const details = describeValidationErrors(error.validation as never, error.validationContext ?? 'request')
        body.code = 'VALIDATION_FAILED'
        body.message = details.map((d) => `${d.path}: ${d.message}`).join('; ')
        body.details = details
      }
      return reply.code(statusCode).type('application/json').send(body)
    })

    fastify.setNotFoundHandler((request, reply) => {
      const error = new RouteNotFound(`No route answers ${request.method} ${request.url.split('?')[0]}. The API is described at /docs.`)
      reply.code(404).send({ statusCode: 404, code: error.code, error: 'Not Found', message: error.message })
    })
  },
  { name: 'error-handler' }
)

function asKnownError(
  error: FastifyError,
  context: { isStoreDown: () => boolean; bodyLimit: number; contentType: string }
): { statusCode?: number; code?: string; message: string } {
  if (error.validation) return { statusCode: 400, code: 'VALIDATION_FAILED', message: error.message }
  switch (error.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new BodyTooLarge(String(context.bodyLimit))
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new UnsupportedMediaType(context.contentType)
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new BodyInvalid('The request has Content-Type application/json but no body; send a JSON object.')
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return new BodyInvalid(`The body is not valid JSON (${error.message}).`)
  }
  if (error.statusCode === undefined && context.isStoreDown()) {
    return new RedisUnavailable()
  }
  return { statusCode: error.statusCode, code: error.code, message: error.message }
}
