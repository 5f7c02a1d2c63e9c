import { and, asc, desc, eq, gt, lt, lte, min, sql, type SQL } from 'drizzle-orm'
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

/**
 * The columns of a history page. `ts` is computed by Postgres (epoch ms, truncated like
 * `Date#getTime` of the stored timestamp): parsing a timestamp string into a Date cost ~0.8 µs
 * a row in Node, the largest share of mapping a 100-row page.
 */
const pageFields = {
  seq: messages.seq,
  clientId: messages.clientId,
  senderId: messages.senderId,
  senderName: messages.senderName,
  text: messages.text,
  data: messages.data,
  streamStatus: messages.streamStatus,
  ts: sql<number>`floor(extract(epoch from ${messages.createdAt}) * 1000)::float8`.as('ts')
}

/**
 * A page row as the driver returns it, keyed by column name. `seq` (int8) is a string from
 * postgres.js and a number or bigint from PGlite; jsonb is parsed and float8 is a number by both.
 */
interface PageRow {
  seq: string | number | bigint
  client_id: string
  sender_id: string
  sender_name: string
  text: string | null
  data: Record<string, unknown> | null
  stream_status: 'complete' | 'interrupted' | null
  ts: number
}

/**
 * drizzle's prepared queries on both drivers (postgres-js, PGlite) have `all()`: the driver's row
 * objects, without drizzle's per-column mapping, which cost ~14 % of a history request's CPU
 * (`mapResultRow` and its `is()` checks, 900 values a page). It is not in drizzle's declared
 * types, so it is checked once here and the history tests run it on both drivers.
 */
interface UnmappedQuery { all: (values: Record<string, unknown>) => Promise<PageRow[]> }
function unmapped (prepared: object): UnmappedQuery {
  const all: unknown = (prepared as Partial<Record<'all', unknown>>).all
  if (typeof all !== 'function') throw new Error('drizzle prepared queries no longer have all(): readHistoryPage needs another way to read unmapped rows')
  return { all: async (values) => await (all as UnmappedQuery['all']).call(prepared, values) }
}

/**
 * One statement per page shape, built once per database: drizzle builds no SQL per call, and
 * postgres.js prepares the fixed text once per connection, so Postgres neither parses nor plans
 * it again (the generic plans scan `messages_room_id_seq_pk`, or `messages_room_sender_seq`
 * with a sender, in the page's direction). The bounds are always bound: `seq > floor` and
 * `seq <= upTo`, with `0` and `Number.MAX_SAFE_INTEGER` standing for "none".
 */
function pageStatements (db: Database) {
  const room = eq(messages.roomId, sql.placeholder('room'))
  const range = [gt(messages.seq, sql.placeholder('floor')), lte(messages.seq, sql.placeholder('upTo'))]
  const bySender = eq(messages.senderId, sql.placeholder('from'))
  const build = (name: string, where: SQL | undefined, order: SQL): UnmappedQuery =>
    unmapped(db.select(pageFields).from(messages).where(where).orderBy(order).limit(sql.placeholder('limit')).prepare(name))
  return {
    asc: build('history_page_asc', and(room, ...range), asc(messages.seq)),
    desc: build('history_page_desc', and(room, ...range), desc(messages.seq)),
    ascFrom: build('history_page_asc_from', and(room, bySender, ...range), asc(messages.seq)),
    descFrom: build('history_page_desc_from', and(room, bySender, ...range), desc(messages.seq))
  }
}

const statements = new WeakMap<Database, ReturnType<typeof pageStatements>>()

/**
 * `readHistory` in the wire shape: the same rows and order, as `Message`s. The hot read of
 * `GET /v1/rooms/:room/messages`, so it skips `MessageRow` and the Date of each row.
 */
export async function readHistoryPage (db: Database, roomId: string, range: HistoryRange): Promise<Message[]> {
  let s = statements.get(db)
  if (s === undefined) {
    s = pageStatements(db)
    statements.set(db, s)
  }
  const params = {
    room: roomId,
    floor: Math.max(range.after ?? 0, range.hiddenUpTo ?? 0),
    upTo: range.before === undefined ? Number.MAX_SAFE_INTEGER : range.before - 1,
    limit: range.limit
  }
  const asc = range.direction === 'asc'
  const rows = range.from === undefined
    ? await (asc ? s.asc : s.desc).all(params)
    : await (asc ? s.ascFrom : s.descFrom).all({ ...params, from: range.from })
  const out = new Array<Message>(rows.length)
  for (let i = 0; i < rows.length; i++) {
    const r = rows[asc ? i : rows.length - 1 - i] as PageRow
    const msg: Message = { room: roomId, seq: Number(r.seq), id: r.client_id, from: { id: r.sender_id, name: r.sender_name }, ts: r.ts }
    if (r.text !== null) msg.text = r.text
    if (r.data !== null) msg.data = r.data
    if (r.stream_status !== null) msg.stream = { status: r.stream_status }
    out[i] = msg
  }
  return out
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
