import type { FastifyBaseLogger } from 'fastify'
import { pino } from 'pino'

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

/** The replica's JSON logger, shared by Fastify and the bus: credentials redacted, no query strings. */
export function createLogger (level: string): Logger {
  return pino({ level, redact: { paths: redactPaths, censor: '[redacted]' }, serializers: { req: serializeRequest } })
}
