import { randomBytes } from 'node:crypto'
import type { FastifyInstance } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { closeRoom, findRoom, insertRoom, isMember, listRooms, updateRoom, type RoomRow } from '@pan/db'
import { CreateRoomBody, Page, PageQuery, PatchRoomBody, Room, RoomId } from '@pan/protocol'
import { PanError } from '../errors.ts'
import { assertStorable } from '../storable.ts'
import { canView } from '../auth.ts'
import { NoContent, RoomParams, errorResponses, iso, requireAdmin } from './common.ts'
import { cursorCodec, cutPage } from './cursor.ts'

const RoomListQuery = Type.Object({
  /** Also list closed rooms. */
  includeClosed: Type.Optional(Type.Boolean({ default: false })),
  ...PageQuery
})

const cursor = cursorCodec('rooms', Type.Object({
  includeClosed: Type.Boolean(),
  afterId: RoomId,
  limit: Type.Integer({ minimum: 1, maximum: 500 })
}))

/** The wire shape of a room. */
export function toRoom (row: RoomRow, onlineCount: number): Room {
  return {
    id: row.id,
    name: row.name,
    visibility: row.visibility,
    config: row.config,
    metadata: row.metadata,
    createdBy: row.createdBy,
    createdAt: row.createdAt.toISOString(),
    closedAt: iso(row.closedAt),
    lastSeq: row.lastSeq,
    onlineCount
  }
}

/**
 * A generated room id: the slug of the name plus a random suffix, within `[a-z0-9._-]{1,64}`.
 * "Ops Room! Été" → `ops-room-ete-k3x9q2ab`.
 */
export function generateRoomId (name: string): string {
  const slug = name.normalize('NFKD').replace(/\p{M}+/gu, '').toLowerCase()
    .replace(/[^a-z0-9._-]+/g, '-')
    .replace(/-{2,}/g, '-')
    .replace(/^[-.]+|[-.]+$/g, '')
    .slice(0, 48)
    .replace(/[-.]+$/, '')
  const suffix = randomBytes(8).readBigUInt64BE().toString(36).slice(0, 8)
  return slug === '' ? `room-${suffix}` : `${slug}-${suffix}`
}

/** Rooms: create, list, read, change, close. */
export async function roomRoutes (fastify: FastifyInstance): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>()
  const db = app.database.db

  /** A room turned private keeps no live non-member agent: each is kicked as if their membership were revoked. */
  const removeNonMembers = async (roomId: string): Promise<void> => {
    for (const m of await app.bus.presence.list(roomId)) {
      if (!(await isMember(db, roomId, m.userId))) await app.bus.control({ type: 'membership_revoked', userId: m.userId, roomId })
    }
  }

  const onlineCount = async (roomId: string): Promise<number> =>
    (await app.bus.presence.counts([roomId])).get(roomId) ?? 0

  app.post('/v1/rooms', {
    schema: {
      tags: ['rooms'],
      summary: 'Create a room (admin)',
      description: 'Without `id`, one is generated from the name. An id already used, by an open or a closed room, is a 409 `conflict`.',
      body: CreateRoomBody,
      response: { 201: Room, ...errorResponses(400, 403, 409) }
    }
  }, async (request, reply) => {
    const p = request.principal
    requireAdmin(p)
    const body = request.body
    assertStorable({ name: body.name, metadata: body.metadata })
    const values = {
      name: body.name,
      visibility: body.visibility,
      config: body.config ?? {},
      metadata: body.metadata ?? {},
      createdBy: p.id
    }
    let row: RoomRow | undefined
    if (body.id !== undefined) {
      row = await insertRoom(db, { id: body.id, ...values })
      if (row === undefined) throw new PanError('PAN_ERR_ROOM_EXISTS', `room id ${body.id} is taken`)
    } else {
      // A generated id collides only by a freak of chance: try again with a new suffix.
      for (let attempt = 0; attempt < 5 && row === undefined; attempt++) {
        row = await insertRoom(db, { id: generateRoomId(body.name), ...values })
      }
      if (row === undefined) throw new PanError('PAN_ERR_CONFLICT', 'could not generate a free room id')
    }
    app.core.access.forgetRoom(row.id)
    return await reply.code(201).send(toRoom(row, 0))
  })

  app.get('/v1/rooms', {
    schema: {
      tags: ['rooms'],
      summary: 'List rooms',
      description: 'Each room with `onlineCount` (distinct users online) and `lastSeq`, in id order. Viewers and admins see every room; agents see public rooms and the private rooms they are members of. Closed rooms only with `includeClosed=true`.',
      querystring: RoomListQuery,
      response: { 200: Page(Room), ...errorResponses(400) }
    }
  }, async (request) => {
    const p = request.principal
    const q = request.query
    const state = q.cursor !== undefined
      ? cursor.decode(q.cursor)
      : { includeClosed: q.includeClosed ?? false, afterId: undefined, limit: q.limit ?? 50 }
    const rows = await listRooms(db, {
      includeClosed: state.includeClosed,
      visibleTo: canView(p) ? undefined : p.id,
      afterId: state.afterId,
      limit: state.limit + 1
    })
    const { page, more } = cutPage(rows, state.limit)
    const counts = page.length === 0 ? new Map<string, number>() : await app.bus.presence.counts(page.map((r) => r.id))
    const last = page[page.length - 1]
    return {
      items: page.map((r) => toRoom(r, counts.get(r.id) ?? 0)),
      nextCursor: more && last !== undefined ? cursor.encode({ includeClosed: state.includeClosed, afterId: last.id, limit: state.limit }) : null
    }
  })

  app.get('/v1/rooms/:room', {
    schema: {
      tags: ['rooms'],
      summary: 'Read a room',
      description: 'Viewers and admins; agents who may join it (private rooms: members). A closed room answers with `closedAt` set.',
      params: RoomParams,
      response: { 200: Room, ...errorResponses(400, 403, 404) }
    }
  }, async (request) => {
    await app.core.access.assertMayRead(request.principal, request.params.room)
    // Read afresh: the access cache holds a room's settings, not its moving `lastSeq`.
    const row = await findRoom(db, request.params.room)
    if (row === undefined) throw new PanError('PAN_ERR_ROOM_NOT_FOUND', `room ${request.params.room} does not exist`)
    return toRoom(row, await onlineCount(row.id))
  })

  app.patch('/v1/rooms/:room', {
    schema: {
      tags: ['rooms'],
      summary: 'Change a room (admin)',
      description: 'Changes `name`, `visibility`, `config` and `metadata`. `config` is merged key by key into the current one; `metadata` replaces the current object. A room made private kicks its live non-member agents.',
      params: RoomParams,
      body: PatchRoomBody,
      response: { 200: Room, ...errorResponses(400, 403, 404) }
    }
  }, async (request) => {
    requireAdmin(request.principal)
    const id = request.params.room
    const body = request.body
    assertStorable({ name: body.name, metadata: body.metadata })
    const current = await findRoom(db, id)
    if (current === undefined) throw new PanError('PAN_ERR_ROOM_NOT_FOUND', `room ${id} does not exist`)
    const row = await updateRoom(db, id, {
      name: body.name,
      visibility: body.visibility,
      config: body.config === undefined ? undefined : { ...current.config, ...body.config },
      metadata: body.metadata
    })
    if (row === undefined) throw new PanError('PAN_ERR_ROOM_NOT_FOUND', `room ${id} does not exist`)
    app.core.access.forgetRoom(id)
    await app.bus.control({ type: 'room_updated', roomId: id })
    if (current.visibility === 'public' && row.visibility === 'private') await removeNonMembers(id)
    return toRoom(row, await onlineCount(id))
  })

  app.delete('/v1/rooms/:room', {
    schema: {
      tags: ['rooms'],
      summary: 'Close a room (admin)',
      description: 'Members are kicked; history stays readable; the id is never reused. Closing a closed room keeps its first `closedAt`.',
      params: RoomParams,
      response: { 204: NoContent, ...errorResponses(400, 403, 404) }
    }
  }, async (request, reply) => {
    requireAdmin(request.principal)
    const id = request.params.room
    const row = await closeRoom(db, id)
    if (row === undefined) throw new PanError('PAN_ERR_ROOM_NOT_FOUND', `room ${id} does not exist`)
    app.core.access.forgetRoom(id)
    await app.bus.control({ type: 'room_closed', roomId: id })
    return await reply.code(204).send(null)
  })
}
