import type { FastifyError, FastifyInstance } from 'fastify'
import fp from 'fastify-plugin'
import { STATUS_CODES } from 'node:http'
import { BodyInvalid, BodyTooLarge, RedisUnavailable, RouteNotFound, UnsupportedMediaType } from '../../domain/errors.js'
import type { ErrorBody } from '../../domain/schemas/error.js'
import { describeValidationErrors } from './validation.js'

interface Situation {
  /** Whether Redis is down, as the store's connection and the error say. */
  isStoreDown: (error: Error) => boolean
  bodyLimit: number
  contentType: string
  requestId: string
}

/**
 * Every error leaves as `{ statusCode, code, error, message }`. A 4xx explains itself to the
 * caller; a 500 hides its cause (it is logged under the request id instead).
 */
export default fp(
  async function errorHandler (fastify: FastifyInstance, options: { isStoreDown: (error: Error) => boolean }) {
    fastify.setErrorHandler((error: FastifyError, request, reply) => {
      const body = errorBody(error, {
        isStoreDown: options.isStoreDown,
        bodyLimit: fastify.initialConfig.bodyLimit ?? 1024 * 1024,
        contentType: request.headers['content-type'] ?? '',
        requestId: request.id
      })
      if (body.statusCode >= 500) request.log.error({ err: error }, 'request failed')
      return reply.code(body.statusCode).type('application/json').send(body)
    })

    fastify.setNotFoundHandler((request, reply) => {
      reply.send(new RouteNotFound(`No route answers ${request.method} ${request.url.split('?')[0]}. The API is described at /docs.`))
    })
  },
  { name: 'error-handler' }
)

function errorBody (error: FastifyError, situation: Situation): ErrorBody {
  if (error.validation) {
    const details = describeValidationErrors(error.validation as never, error.validationContext ?? 'request')
    return {
      ...envelope(400, 'VALIDATION_FAILED', details.map((d) => `${d.path}: ${d.message}`).join('; ')),
      details
    }
  }
  const known = ourError(error, situation)
  const status = known.statusCode ?? 500
  if (status === 500) {
    return envelope(500, 'INTERNAL', `Slipway failed unexpectedly; the server log has the details under request id ${situation.requestId}.`)
  }
  // Fastify's own codes (FST_…) name its internals; callers get a plain one.
  const code = known.code && !known.code.startsWith('FST_') ? known.code : 'BAD_REQUEST'
  return envelope(status, code, known.message)
}

/** Fastify's errors about the body, and a store outage, as errors of our catalogue. */
function ourError (error: FastifyError, situation: Situation): { statusCode?: number; code?: string; message: string } {
  switch (error.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new BodyTooLarge(String(situation.bodyLimit))
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new UnsupportedMediaType(situation.contentType)
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new BodyInvalid('The request has Content-Type application/json but no body; send a JSON object.')
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return new BodyInvalid(`The body is not valid JSON (${error.message}).`)
  }
  if (error.statusCode === undefined && situation.isStoreDown(error)) return new RedisUnavailable()
  return error
}

function envelope (statusCode: number, code: string, message: string): ErrorBody {
  return { statusCode, code, error: STATUS_CODES[statusCode] ?? 'Error', message }
}
