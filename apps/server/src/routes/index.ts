import type { FastifyInstance } from 'fastify'
import { healthRoutes } from './health.ts'
import { wsRoute } from './ws.ts'
import { roomRoutes } from './rooms.ts'
import { memberRoutes } from './members.ts'
import { messageRoutes } from './messages.ts'
import { banRoutes } from './bans.ts'
import { userRoutes } from './users.ts'
import { statsRoutes } from './stats.ts'

export async function routes (app: FastifyInstance): Promise<void> {
  await app.register(healthRoutes)
  await app.register(wsRoute)
  await app.register(roomRoutes)
  await app.register(memberRoutes)
  await app.register(messageRoutes)
  await app.register(banRoutes)
  await app.register(userRoutes)
  await app.register(statsRoutes)
}
