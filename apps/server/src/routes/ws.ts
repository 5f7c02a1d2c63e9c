import type { FastifyInstance } from 'fastify'
import { errorBody } from '../plugins/errors.ts'
import { bearerToken } from '../plugins/auth.ts'

/**
 * `GET /v1/ws`: a thin adapter handing the socket to the real-time core. Refused tokens are
 * accepted and then closed with their code (4001, 4003, 4009) so browsers can read it; a
 * draining replica answers new upgrades with 503.
 */
export async function wsRoute (app: FastifyInstance): Promise<void> {
  app.get('/v1/ws', {
    websocket: true,
    config: { public: true },
    schema: { hide: true },
    onRequest: async (_req, reply) => {
      if (app.core.gateway.draining) await reply.code(503).send(errorBody('unavailable', 'server is draining; reconnect elsewhere'))
    }
  }, (socket, request) => {
    const query = request.query as Record<string, unknown> | undefined
    const fromQuery = typeof query?.token === 'string' ? query.token : undefined
    app.core.gateway.accept(socket, bearerToken(request) ?? fromQuery)
  })
}
