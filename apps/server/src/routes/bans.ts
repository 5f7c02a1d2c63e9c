import type { FastifyInstance } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { Type } from 'typebox'
import { insertBan, liftBan, listBans, type BanRow } from '@pan/db'
import { Ban, BanQuery, CreateBanBody, Page, RoomId, UserId } from '@pan/protocol'
import { PanError } from '../errors.ts'
import { assertStorable } from '../storable.ts'
import { NoContent, errorResponses, iso, requireAdmin, requireViewer } from './common.ts'
import { cursorCodec, cutPage } from './cursor.ts'

/** Ban ids are UUIDs; anything within the user-id alphabet is looked up, anything else is a 400. */
const BanId = Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9._:-]{1,64}$' })

const cursor = cursorCodec('bans', Type.Object({
  room: Type.Optional(RoomId),
  user: Type.Optional(UserId),
  active: Type.Optional(Type.Boolean()),
  afterId: BanId,
  limit: Type.Integer({ minimum: 1, maximum: 500 })
}))

const BanParams = Type.Object({ id: BanId })

/** The wire shape of a ban. */
export function toBan (row: BanRow): Ban {
  return {
    id: row.id,
    user: row.userId,
    room: row.roomId,
    reason: row.reason,
    createdBy: row.createdBy,
    createdAt: row.createdAt.toISOString(),
    expiresAt: iso(row.expiresAt),
    liftedAt: iso(row.liftedAt)
  }
}

const isActive = (row: BanRow, now = Date.now()): boolean =>
  row.liftedAt === null && (row.expiresAt === null || row.expiresAt.getTime() > now)

/** Bans: room-scoped or network-wide, listed, lifted. */
export async function banRoutes (fastify: FastifyInstance): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>()
  const db = app.database.db

  app.post('/v1/bans', {
    schema: {
      tags: ['bans'],
      summary: 'Ban a user (admin)',
      description: 'From one room with `room`, network-wide without. When this answers, the ban is stored and every replica has been told: a room ban kicks the user from the room (`kicked`), a network ban closes their connections (4003) and answers `banned` to their REST calls. `expiresAt` (ISO 8601) ends the ban by itself.',
      body: CreateBanBody,
      response: { 201: Ban, ...errorResponses(400, 403, 404) }
    }
  }, async (request, reply) => {
    const p = request.principal
    requireAdmin(p)
    const body = request.body
    assertStorable({ reason: body.reason })
    // The room may be closed (a ban still bars its history) but must exist.
    if (body.room !== undefined) await app.core.access.room(body.room)
    const row = await insertBan(db, {
      userId: body.user,
      roomId: body.room ?? null,
      reason: body.reason ?? null,
      createdBy: p.id,
      expiresAt: body.expiresAt === undefined ? null : new Date(body.expiresAt)
    })
    app.core.access.forgetBans(row.userId)
    // Awaited before replying: the contract promises the kicks once POST returns.
    if (isActive(row)) await app.bus.control({ type: 'ban', userId: row.userId, roomId: row.roomId, reason: row.reason ?? 'banned' })
    return await reply.code(201).send(toBan(row))
  })

  app.get('/v1/bans', {
    schema: {
      tags: ['bans'],
      summary: 'List bans (viewer)',
      description: 'In creation order. `room` and `user` filter; `active=true` keeps bans neither lifted nor expired, `active=false` the others.',
      querystring: BanQuery,
      response: { 200: Page(Ban), ...errorResponses(400, 403) }
    }
  }, async (request) => {
    requireViewer(request.principal)
    const q = request.query
    const state = q.cursor !== undefined
      ? cursor.decode(q.cursor)
      : { room: q.room, user: q.user, active: q.active === undefined ? undefined : q.active === 'true', afterId: undefined, limit: q.limit ?? 50 }
    const rows = await listBans(db, { roomId: state.room, userId: state.user, active: state.active, afterId: state.afterId, limit: state.limit + 1 })
    const { page, more } = cutPage(rows, state.limit)
    const last = page[page.length - 1]
    return {
      items: page.map(toBan),
      nextCursor: more && last !== undefined ? cursor.encode({ room: state.room, user: state.user, active: state.active, afterId: last.id, limit: state.limit }) : null
    }
  })

  app.delete('/v1/bans/:id', {
    schema: {
      tags: ['bans'],
      summary: 'Lift a ban (admin)',
      description: 'Sets `liftedAt` and keeps the row; lifting a lifted ban keeps its first `liftedAt`.',
      params: BanParams,
      response: { 204: NoContent, ...errorResponses(400, 403, 404) }
    }
  }, async (request, reply) => {
    requireAdmin(request.principal)
    const row = await liftBan(db, request.params.id)
    if (row === undefined) throw new PanError('PAN_ERR_NOT_FOUND', `no ban ${request.params.id}`)
    app.core.access.forgetBans(row.userId)
    await app.bus.control({ type: 'ban_lifted', userId: row.userId })
    return await reply.code(204).send(null)
  })
}
