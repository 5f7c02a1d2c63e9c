import type { FastifyInstance } from 'fastify'

export async function statsRoutes (app: FastifyInstance): Promise<void> {
  void app
}
