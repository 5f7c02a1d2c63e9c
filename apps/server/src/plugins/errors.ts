import fp from 'fastify-plugin'
import type { FastifyError, FastifyInstance } from 'fastify'
import { ErrorStatus, type ErrorBody, type ErrorCode } from '@pan/protocol'
import { isPanError } from '../errors.ts'

const HTTP_NAMES: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  409: 'Conflict',
  413: 'Payload Too Large',
  415: 'Unsupported Media Type',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  503: 'Service Unavailable'
}

export function errorBody (code: ErrorCode, message: string, statusCode = ErrorStatus[code]): ErrorBody {
  return { statusCode, code, error: HTTP_NAMES[statusCode] ?? 'Error', message }
}

/** Maps a Fastify/plugin error to the contract's code by status. */
function codeForStatus (status: number): ErrorCode {
  switch (status) {
    case 401: return 'unauthorized'
    case 403: return 'forbidden'
    case 404: return 'not_found'
    case 409: return 'conflict'
    case 413: return 'too_large'
    case 429: return 'rate_limited'
    case 503: return 'unavailable'
    default: return status >= 500 ? 'internal' : 'bad_request'
  }
}

/** One root error handler: contract-shaped bodies, 5xx details hidden from callers. */
export const errorsPlugin = fp(async (app: FastifyInstance) => {
  app.setErrorHandler((err: FastifyError, request, reply) => {
    if (isPanError(err)) {
      if (err.retryAfterMs !== undefined) reply.header('retry-after', Math.ceil(err.retryAfterMs / 1000))
      return reply.code(err.statusCode).send(errorBody(err.code, err.message, err.statusCode))
    }
    if (err.validation !== undefined) {
      return reply.code(400).send(errorBody('bad_request', err.message))
    }
    const status = err.statusCode ?? 500
    if (status >= 500) {
      request.log.error({ err }, 'request failed')
      return reply.code(500).send(errorBody('internal', 'internal server error'))
    }
    return reply.code(status).send(errorBody(codeForStatus(status), err.message, status))
  })
  app.setNotFoundHandler((request, reply) => {
    return reply.code(404).send(errorBody('not_found', `no route ${request.method} ${request.url.split('?')[0] ?? ''}`))
  })
})
