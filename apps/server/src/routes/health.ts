import type { FastifyInstance } from 'fastify'
import { errorBody } from '../plugins/errors.ts'

export async function healthRoutes (app: FastifyInstance): Promise<void> {
  app.get('/healthz', { config: { public: true }, schema: { tags: ['ops'], summary: 'Liveness' } }, async () => ({ status: 'ok' }))

  app.get('/readyz', { config: { public: true }, schema: { tags: ['ops'], summary: 'Readiness: database and bus reachable, not draining' } }, async (_req, reply) => {
    if (app.core.gateway.draining) return await reply.code(503).send(errorBody('unavailable', 'draining'))
    try {
      await Promise.all([app.database.ping(), app.bus.ping()])
    } catch {
      return await reply.code(503).send(errorBody('unavailable', 'database or bus unreachable'))
    }
    return { status: 'ready' }
  })

  app.get('/metrics', { config: { public: true }, schema: { tags: ['ops'], summary: 'Prometheus metrics' } }, async (_req, reply) => {
    const body = await app.metrics.registry.metrics()
    return await reply.type(app.metrics.registry.contentType).send(body)
  })
}
