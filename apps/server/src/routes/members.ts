import type { FastifyInstance } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { addMember, listMembers, removeMember } from '@pan/db'
import { Page, PageQuery, PresenceMember, RoomId, RoomMember, UserId } from '@pan/protocol'
import { NoContent, RoomParams, RoomUserParams, errorResponses, requireAdmin, requireViewer } from './common.ts'
import { badCursor, cursorCodec, cutPage } from './cursor.ts'

const ListQuery = Type.Object({ ...PageQuery })

/** Both lists are keyed by user id within one room. */
const UserKeyset = Type.Object({
  room: RoomId,
  afterUser: UserId,
  limit: Type.Integer({ minimum: 1, maximum: 500 })
})
const memberCursor = cursorCodec('members', UserKeyset)
const presenceCursor = cursorCodec('presence', UserKeyset)

/** Where a user-keyed list of `room` starts: from a cursor (which must belong to that room) or from the query. */
function startOf (codec: typeof memberCursor, room: string, q: { cursor?: string | undefined, limit?: number | undefined }): { afterUser: string | undefined, limit: number } {
  if (q.cursor === undefined) return { afterUser: undefined, limit: q.limit ?? 50 }
  const state = codec.decode(q.cursor)
  if (state.room !== room) throw badCursor()
  return state
}

/** Membership of private rooms, and who is online in a room. */
export async function memberRoutes (fastify: FastifyInstance): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>()
  const db = app.database.db

  app.put('/v1/rooms/:room/members/:user', {
    schema: {
      tags: ['members'],
      summary: 'Grant membership of a private room (admin)',
      description: 'Idempotent: granting twice keeps the first grant.',
      params: RoomUserParams,
      response: { 204: NoContent, ...errorResponses(400, 403, 404) }
    }
  }, async (request, reply) => {
    requireAdmin(request.principal)
    const room = await app.core.access.room(request.params.room)
    await addMember(db, room.id, request.params.user, request.principal.id)
    return await reply.code(204).send(null)
  })

  app.delete('/v1/rooms/:room/members/:user', {
    schema: {
      tags: ['members'],
      summary: 'Revoke membership of a private room (admin)',
      description: 'The user\'s live connections in the private room are kicked on every replica. Revoking a membership that does not exist is a no-op (204).',
      params: RoomUserParams,
      response: { 204: NoContent, ...errorResponses(400, 403, 404) }
    }
  }, async (request, reply) => {
    requireAdmin(request.principal)
    const room = await app.core.access.room(request.params.room)
    const userId = request.params.user
    await removeMember(db, room.id, userId)
    // In a public room membership grants nothing, so revoking it removes no one.
    if (room.visibility === 'private') await app.bus.control({ type: 'membership_revoked', userId, roomId: room.id })
    return await reply.code(204).send(null)
  })

  app.get('/v1/rooms/:room/members', {
    schema: {
      tags: ['members'],
      summary: 'List the members of a private room (viewer)',
      description: 'Membership grants in user id order.',
      params: RoomParams,
      querystring: ListQuery,
      response: { 200: Page(RoomMember), ...errorResponses(400, 403, 404) }
    }
  }, async (request) => {
    requireViewer(request.principal)
    const room = await app.core.access.room(request.params.room)
    const start = startOf(memberCursor, room.id, request.query)
    const rows = await listMembers(db, room.id, start.afterUser, start.limit + 1)
    const { page, more } = cutPage(rows, start.limit)
    const last = page[page.length - 1]
    return {
      items: page.map((m) => ({ user: m.userId, addedBy: m.addedBy, addedAt: m.addedAt.toISOString() })),
      nextCursor: more && last !== undefined ? memberCursor.encode({ room: room.id, afterUser: last.userId, limit: start.limit }) : null
    }
  })

  app.get('/v1/rooms/:room/presence', {
    schema: {
      tags: ['members'],
      summary: 'Who is online in a room now',
      description: 'Distinct online users across all replicas, in user id order: `since` is the epoch ms at which the user came online, `state` their latest agent state. Viewers and admins; agents who may join the room. Watching viewers are not listed.',
      params: RoomParams,
      querystring: ListQuery,
      response: { 200: Page(PresenceMember), ...errorResponses(400, 403, 404) }
    }
  }, async (request) => {
    const room = await app.core.access.assertMayRead(request.principal, request.params.room)
    const start = startOf(presenceCursor, room.id, request.query)
    const online = await app.bus.presence.list(room.id)
    const after = start.afterUser
    const rest = online
      .filter((m) => after === undefined || m.userId > after)
      .sort((a, b) => a.userId < b.userId ? -1 : a.userId > b.userId ? 1 : 0)
    const { page, more } = cutPage(rest, start.limit)
    const last = page[page.length - 1]
    return {
      items: page.map((m) => ({ id: m.userId, name: m.name, since: m.since, state: m.state })),
      nextCursor: more && last !== undefined ? presenceCursor.encode({ room: room.id, afterUser: last.userId, limit: start.limit }) : null
    }
  })
}
