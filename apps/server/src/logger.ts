import type { FastifyBaseLogger } from 'fastify'
import { pino, type LoggerOptions } from 'pino'

/** The logger the Fastify-free core accepts: Fastify's pino instance or a child of it. */
export type Logger = FastifyBaseLogger

/**
 * Request serializer that drops the query string, so a `?token=` never reaches a log line
 * (pino's `redact` works on object paths and cannot edit a URL).
 */
export function serializeRequest (req: { method: string, url: string, id: unknown, ip?: string }): Record<string, unknown> {
  return { id: req.id, method: req.method, url: req.url.split('?')[0], ip: req.ip }
}

/** Paths redacted from every log object: headers that carry credentials. */
export const redactPaths = ['req.headers.authorization', 'req.headers.cookie', 'headers.authorization', '*.token', 'token']

/** Anything shaped like a JWT (header.payload.signature, base64url, header starting `{"`). */
const JWT_IN_TEXT = /eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*/g

/**
 * The replica's pino options: credentials redacted by path, no query strings, and as a last net a
 * JWT anywhere in a finished line (an error message quoting a header, say) replaced.
 */
export function loggerOptions (level: string): LoggerOptions {
  return {
    level,
    redact: { paths: redactPaths, censor: '[redacted]' },
    serializers: { req: serializeRequest },
    hooks: { streamWrite: (line) => line.replace(JWT_IN_TEXT, '[redacted-jwt]') }
  }
}

/** The replica's JSON logger, shared by Fastify and the bus. */
export function createLogger (level: string): Logger {
  return pino(loggerOptions(level))
}
