import { and, asc, desc, eq, gt, lt, lte, min, sql, type SQL } from 'drizzle-orm'
import type { Message } from '@pan/protocol'
import type { Database } from '../database.ts'
import { messages } from '../schema/messages.ts'
import { rooms } from '../schema/rooms.ts'

export type MessageRow = typeof messages.$inferSelect

/** A message waiting to be committed. */
export interface NewMessage {
  roomId: string
  clientId: string
  senderId: string
  senderName: string
  text?: string | undefined
  data?: Record<string, unknown> | undefined
  streamStatus?: 'complete' | 'interrupted' | undefined
}

export type CommitOutcome =
  | { ok: true, duplicate: boolean, message: MessageRow }
  | { ok: false, reason: 'room_not_found' | 'room_closed' }

const key = (roomId: string, senderId: string, clientId: string): string => `${roomId}\u0000${senderId}\u0000${clientId}`

/**
 * Commits a batch of messages in one transaction (group commit). Rooms are locked in id order,
 * so concurrent batches, from this process or another replica, serialise per room and seqs stay
 * gapless. A `(room, sender, clientId)` already stored, or repeated inside the batch, yields the
 * original row with `duplicate: true` and stores nothing. Outcomes are in the batch's order.
 */
export async function commitMessages (db: Database, batch: readonly NewMessage[]): Promise<CommitOutcome[]> {
  if (batch.length === 0) return []
  return await db.transaction(async (tx) => {
    const roomIds = [...new Set(batch.map((m) => m.roomId))].sort()
    const locked = await tx.select({ id: rooms.id, lastSeq: rooms.lastSeq, closedAt: rooms.closedAt })
      .from(rooms)
      .where(sql`${rooms.id} in ${roomIds}`)
      .orderBy(asc(rooms.id))
      .for('update')
    const roomState = new Map(locked.map((r) => [r.id, r]))

    const keys = sql.join(batch.map((m) => sql`(${m.roomId}, ${m.senderId}, ${m.clientId})`), sql`, `)
    const existingRows = await tx.select().from(messages)
      .where(sql`(${messages.roomId}, ${messages.senderId}, ${messages.clientId}) in (${keys})`)
    const known = new Map(existingRows.map((r) => [key(r.roomId, r.senderId, r.clientId), r]))

    const outcomes: Array<CommitOutcome | { pending: string }> = []
    const toInsert: Array<typeof messages.$inferInsert> = []
    const nextSeq = new Map<string, number>()
    const pendingKeys = new Set<string>()
    for (const m of batch) {
      const k = key(m.roomId, m.senderId, m.clientId)
      const stored = known.get(k)
      if (stored !== undefined) { outcomes.push({ ok: true, duplicate: true, message: stored }); continue }
      if (pendingKeys.has(k)) { outcomes.push({ pending: k }); continue }
      const room = roomState.get(m.roomId)
      if (room === undefined) { outcomes.push({ ok: false, reason: 'room_not_found' }); continue }
      if (room.closedAt !== null) { outcomes.push({ ok: false, reason: 'room_closed' }); continue }
      const seq = (nextSeq.get(m.roomId) ?? room.lastSeq) + 1
      nextSeq.set(m.roomId, seq)
      pendingKeys.add(k)
      outcomes.push({ pending: k })
      toInsert.push({
        roomId: m.roomId,
        seq,
        clientId: m.clientId,
        senderId: m.senderId,
        senderName: m.senderName,
        text: m.text ?? null,
        data: m.data ?? null,
        streamStatus: m.streamStatus ?? null
      })
    }
    if (toInsert.length > 0) {
      const inserted = await tx.insert(messages).values(toInsert).returning()
      for (const row of inserted) known.set(key(row.roomId, row.senderId, row.clientId), row)
      const bumps = sql.join([...nextSeq].map(([id, seq]) => sql`(${id}, ${seq}::bigint)`), sql`, `)
      await tx.execute(sql`update rooms set last_seq = v.seq from (values ${bumps}) as v(id, seq) where rooms.id = v.id`)
    }
    const firstOfKey = new Set<string>()
    return outcomes.map((o) => {
      if (!('pending' in o)) return o
      const row = known.get(o.pending)
      if (row === undefined) throw new Error('committed row missing from RETURNING')
      const duplicate = firstOfKey.has(o.pending)
      firstOfKey.add(o.pending)
      return { ok: true, duplicate, message: row }
    })
  })
}

/** The wire shape of a stored message. */
export function toMessage (row: MessageRow): Message {
  const msg: Message = {
    room: row.roomId,
    seq: row.seq,
    id: row.clientId,
    from: { id: row.senderId, name: row.senderName },
    ts: row.createdAt.getTime()
  }
  if (row.text !== null) msg.text = row.text
  if (row.data !== null) msg.data = row.data
  if (row.streamStatus !== null) msg.stream = { status: row.streamStatus }
  return msg
}

export interface HistoryRange {
  /** Exclusive lower bound. */
  after?: number | undefined
  /** Exclusive upper bound. */
  before?: number | undefined
  /** Only messages from this sender. */
  from?: string | undefined
  /** Messages at or below this seq are hidden (history limited to a member's first join). */
  hiddenUpTo?: number | undefined
  limit: number
  /** `asc`: the first `limit` of the range; `desc`: the last `limit` of the range. */
  direction: 'asc' | 'desc'
}

/** A page of history, always returned in ascending seq. */
export async function readHistory (db: Database, roomId: string, range: HistoryRange): Promise<MessageRow[]> {
  const conditions: SQL[] = [eq(messages.roomId, roomId)]
  const floor = Math.max(range.after ?? 0, range.hiddenUpTo ?? 0)
  if (floor > 0) conditions.push(gt(messages.seq, floor))
  if (range.before !== undefined) conditions.push(lt(messages.seq, range.before))
  if (range.from !== undefined) conditions.push(eq(messages.senderId, range.from))
  const rows = await db.select().from(messages)
    .where(and(...conditions))
    .orderBy(range.direction === 'asc' ? asc(messages.seq) : desc(messages.seq))
    .limit(range.limit)
  return range.direction === 'asc' ? rows : rows.reverse()
}

/** Messages with `after < seq <= upTo`, ascending: the replay of a resuming member. */
export async function readRange (db: Database, roomId: string, after: number, upTo: number, limit: number): Promise<MessageRow[]> {
  return await db.select().from(messages)
    .where(and(eq(messages.roomId, roomId), gt(messages.seq, after), lte(messages.seq, upTo)))
    .orderBy(asc(messages.seq))
    .limit(limit)
}

/** The lowest seq still stored in `(after, ∞)`, or null when none is. */
export async function firstStoredSeqAfter (db: Database, roomId: string, after: number): Promise<number | null> {
  const [row] = await db.select({ first: min(messages.seq) }).from(messages)
    .where(and(eq(messages.roomId, roomId), gt(messages.seq, after)))
  return row?.first ?? null
}

/** Deletes the room's messages older than `cutoff`; returns how many went. */
export async function deleteMessagesBefore (db: Database, roomId: string, cutoff: Date): Promise<number> {
  const deleted = await db.delete(messages)
    .where(and(eq(messages.roomId, roomId), lt(messages.createdAt, cutoff)))
    .returning({ seq: messages.seq })
  return deleted.length
}

/** The stored message for `(room, sender, clientId)`, if any. */
export async function findMessage (db: Database, roomId: string, senderId: string, clientId: string): Promise<MessageRow | undefined> {
  const [row] = await db.select().from(messages)
    .where(and(eq(messages.roomId, roomId), eq(messages.senderId, senderId), eq(messages.clientId, clientId)))
  return row
}
