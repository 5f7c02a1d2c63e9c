import type { FastifyInstance } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { countOpenRooms } from '@pan/db'
import { Stats } from '@pan/protocol'
import { errorResponses, requireViewer } from './common.ts'

/** Cluster figures for dashboards. */
export async function statsRoutes (fastify: FastifyInstance): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>()

  app.get('/v1/stats', {
    schema: {
      tags: ['stats'],
      summary: 'Connections, open rooms and messages per second (viewer)',
      description: 'Totals and one entry per live replica. `messagesPerSec` is committed messages per second averaged over the last few seconds; `startedAt` is ISO 8601.',
      response: { 200: Stats, ...errorResponses(403) }
    }
  }, async (request) => {
    requireViewer(request.principal)
    const [reports, rooms] = await Promise.all([app.bus.replicas(), countOpenRooms(app.database.db)])
    // This replica's own figures are read live rather than from its last report (up to 1 s old,
    // and absent during the first second after boot).
    const self = app.core.report()
    const all = [self, ...reports.filter((r) => r.id !== self.id)].sort((a, b) => a.id < b.id ? -1 : a.id > b.id ? 1 : 0)
    return {
      connections: all.reduce((n, r) => n + r.connections, 0),
      rooms,
      messagesPerSec: Math.round(all.reduce((n, r) => n + r.messagesPerSec, 0) * 100) / 100,
      replicas: all.map((r) => ({ id: r.id, connections: r.connections, messagesPerSec: r.messagesPerSec, startedAt: new Date(r.startedAt).toISOString() }))
    }
  })
}
