import type { FastifyInstance } from 'fastify'

export async function banRoutes (app: FastifyInstance): Promise<void> {
  void app
}
