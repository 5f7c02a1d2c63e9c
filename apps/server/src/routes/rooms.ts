import type { FastifyInstance } from 'fastify'

export async function roomRoutes (app: FastifyInstance): Promise<void> {
  void app
}
