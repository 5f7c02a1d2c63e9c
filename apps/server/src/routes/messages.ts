import type { FastifyInstance } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { Type, type Static } from 'typebox'
import { findFirstJoin, readHistoryPage, type RoomRow } from '@pan/db'
import { HistoryQuery, Message, Page, PostMessageBody, PostMessageReply, RoomId, Seq, UserId } from '@pan/protocol'
import type { Principal } from '../auth.ts'
import { RoomParams, errorResponses } from './common.ts'
import { badCursor, cursorCodec, cutPage } from './cursor.ts'

/**
 * A history query. With `after` the page runs forward from it (bounded by `before` if set);
 * without, it is the last `limit` messages before `before` (or the latest) and runs backwards.
 */
const HistoryState = Type.Object({
  room: RoomId,
  after: Type.Optional(Seq),
  before: Type.Optional(Seq),
  from: Type.Optional(UserId),
  limit: Type.Integer({ minimum: 1, maximum: 500 })
})
type HistoryState = Static<typeof HistoryState>
const cursor = cursorCodec('history', HistoryState)

/**
 * The seq at or below which this caller may not read, or null when they may read nothing. With
 * `config.historyForNewMembers: false` an agent sees only messages after their first join; an agent
 * who never joined has no history yet. Viewers and admins read everything.
 */
async function hiddenUpTo (app: FastifyInstance, p: Principal, room: RoomRow): Promise<number | null> {
  if (p.role !== 'agent' || room.config.historyForNewMembers !== false) return 0
  return await findFirstJoin(app.database.db, room.id, p.id) ?? null
}

/** Room history over HTTP, and posting with the same guarantees as a WebSocket `send`. */
export async function messageRoutes (fastify: FastifyInstance): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>()
  const db = app.database.db

  app.get('/v1/rooms/:room/messages', {
    schema: {
      tags: ['messages'],
      summary: 'Read a room\'s history',
      description: 'Pages always list messages in ascending seq. `after=S`: the next `limit` messages after S, `nextCursor` going forward. `before=S`, or neither: the `limit` messages just before S (or the latest), `nextCursor` going backwards. Both: the range between, forward. `from=USER` keeps that sender\'s messages. Bounds are exclusive. Viewers and admins; agents who may join the room. Closed rooms stay readable.',
      params: RoomParams,
      querystring: HistoryQuery,
      response: { 200: Page(Message), ...errorResponses(400, 403, 404) }
    }
  }, async (request) => {
    const room = await app.core.access.assertMayRead(request.principal, request.params.room)
    const q = request.query
    let state: HistoryState
    if (q.cursor !== undefined) {
      state = cursor.decode(q.cursor)
      if (state.room !== room.id) throw badCursor()
    } else {
      state = { room: room.id, after: q.after, before: q.before, from: q.from, limit: q.limit ?? 50 }
    }
    const hidden = await hiddenUpTo(app, request.principal, room)
    if (hidden === null) return { items: [], nextCursor: null }

    const forward = state.after !== undefined
    const rows = await readHistoryPage(db, room.id, {
      after: state.after,
      before: state.before,
      from: state.from,
      hiddenUpTo: hidden,
      limit: state.limit + 1,
      direction: forward ? 'asc' : 'desc'
    })
    const { page, more } = cutPage(rows, state.limit, !forward)
    let next: HistoryState | null = null
    if (more) {
      const edge = forward ? page[page.length - 1] : page[0]
      if (edge !== undefined) {
        next = forward
          ? { ...state, after: edge.seq }
          : { room: state.room, before: edge.seq, from: state.from, limit: state.limit }
      }
    }
    return { items: page, nextCursor: next === null ? null : cursor.encode(next) }
  })

  app.post('/v1/rooms/:room/messages', {
    schema: {
      tags: ['messages'],
      summary: 'Post a message',
      description: 'Admins, and agents who may send in the room. Answers once the message is committed: 201 with its seq and ts; a known `id` (same sender, same room) answers 200 with the original seq and ts, whatever the content, and stores nothing. Counts against the sender\'s send budget like a WebSocket `send`.',
      params: RoomParams,
      body: PostMessageBody,
      response: { 200: PostMessageReply, 201: PostMessageReply, ...errorResponses(400, 403, 404, 413) }
    }
  }, async (request, reply) => {
    const p = request.principal
    const room = await app.core.access.assertMaySend(p, request.params.room)
    const body = request.body
    const input = { id: body.id, text: body.text, data: body.data }
    const known = await app.core.messages.admit(p, room, input)
    const stored = known ?? await app.core.messages.store(p, await app.core.users.seen(p), room, input)
    return await reply.code(stored.duplicate ? 200 : 201).send({ room: stored.room, id: stored.id, seq: stored.seq, ts: stored.ts })
  })
}
