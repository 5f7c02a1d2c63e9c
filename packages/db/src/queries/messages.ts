import { and, asc, desc, eq, gt, lt, lte, min, type SQL } from 'drizzle-orm'
import type { Message } from '@pan/protocol'
import type { Database } from '../database.ts'
import { messages } from '../schema/messages.ts'

export type MessageRow = typeof messages.$inferSelect

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
