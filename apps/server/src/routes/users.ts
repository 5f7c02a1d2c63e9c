import type { FastifyInstance } from 'fastify'

export async function userRoutes (app: FastifyInstance): Promise<void> {
  void app
}
