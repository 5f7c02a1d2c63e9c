import type { FastifyInstance } from 'fastify'

export async function memberRoutes (app: FastifyInstance): Promise<void> {
  void app
}
