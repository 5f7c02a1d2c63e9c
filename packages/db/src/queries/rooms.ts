import { and, asc, eq, gt, inArray, isNull, or, sql, type SQL } from 'drizzle-orm'
import { Coalescer, CONNECT_GROUP_WINDOW_MS } from '../coalesce.ts'
import type { Database } from '../database.ts'
import { rawQuery } from '../raw.ts'
import { rooms, type RoomConfigColumn } from '../schema/rooms.ts'
import { roomMembers } from '../schema/room-members.ts'
import { roomFirstJoins } from '../schema/room-first-joins.ts'

export type RoomRow = typeof rooms.$inferSelect

export interface NewRoom {
  id: string
  name: string
  visibility: 'public' | 'private'
  config: RoomConfigColumn
  metadata: Record<string, unknown>
  createdBy: string | null
}

/** Inserts a room; undefined when the id is taken (also by a closed room: ids are never reused). */
export async function insertRoom (db: Database, room: NewRoom): Promise<RoomRow | undefined> {
  const [row] = await db.insert(rooms).values(room).onConflictDoNothing().returning()
  return row
}

export async function findRoom (db: Database, id: string): Promise<RoomRow | undefined> {
  const [row] = await db.select().from(rooms).where(eq(rooms.id, id))
  return row
}

/** `findRoom` for many ids in one statement; rooms that do not exist are absent. */
export async function findRooms (db: Database, ids: readonly string[]): Promise<Map<string, RoomRow>> {
  if (ids.length === 0) return new Map()
  const rows = await db.select().from(rooms).where(inArray(rooms.id, [...ids]))
  return new Map(rows.map((row) => [row.id, row]))
}

/** Each room's latest seq, by id; rooms that do not exist are absent. */
export async function roomHeads (db: Database, ids: readonly string[]): Promise<Map<string, number>> {
  if (ids.length === 0) return new Map()
  const rows = await db.select({ id: rooms.id, lastSeq: rooms.lastSeq }).from(rooms).where(inArray(rooms.id, [...ids]))
  return new Map(rows.map((row) => [row.id, row.lastSeq]))
}

export interface RoomListQuery {
  includeClosed: boolean
  /** Only public rooms and private rooms this user is a member of (agents). */
  visibleTo?: string | undefined
  /** Exclusive: rooms with an id after this one. */
  afterId?: string | undefined
  limit: number
}

/** Rooms in id order. */
export async function listRooms (db: Database, q: RoomListQuery): Promise<RoomRow[]> {
  const conditions: SQL[] = []
  if (!q.includeClosed) conditions.push(isNull(rooms.closedAt))
  if (q.afterId !== undefined) conditions.push(gt(rooms.id, q.afterId))
  if (q.visibleTo !== undefined) {
    const member = sql`exists (select 1 from ${roomMembers} where ${roomMembers.roomId} = ${rooms.id} and ${roomMembers.userId} = ${q.visibleTo})`
    conditions.push(or(eq(rooms.visibility, 'public'), member) as SQL)
  }
  return await db.select().from(rooms).where(and(...conditions)).orderBy(asc(rooms.id)).limit(q.limit)
}

export interface RoomPatch {
  name?: string | undefined
  visibility?: 'public' | 'private' | undefined
  config?: RoomConfigColumn | undefined
  metadata?: Record<string, unknown> | undefined
}

export async function updateRoom (db: Database, id: string, patch: RoomPatch): Promise<RoomRow | undefined> {
  const set: Partial<typeof rooms.$inferInsert> = {}
  if (patch.name !== undefined) set.name = patch.name
  if (patch.visibility !== undefined) set.visibility = patch.visibility
  if (patch.config !== undefined) set.config = patch.config
  if (patch.metadata !== undefined) set.metadata = patch.metadata
  if (Object.keys(set).length === 0) return await findRoom(db, id)
  const [row] = await db.update(rooms).set(set).where(eq(rooms.id, id)).returning()
  return row
}

/** Marks a room closed; undefined when it does not exist. Closing twice keeps the first `closedAt`. */
export async function closeRoom (db: Database, id: string): Promise<RoomRow | undefined> {
  const [row] = await db.update(rooms)
    .set({ closedAt: sql`coalesce(${rooms.closedAt}, now())` })
    .where(eq(rooms.id, id))
    .returning()
  return row
}

export interface FirstJoin {
  roomId: string
  userId: string
  /** The room's seq at this join: kept only if the user never joined before. */
  afterSeq: number
}

const firstJoinKey = (roomId: string, userId: string): string => `${roomId}\u0000${userId}`

/**
 * `recordFirstJoin` for many joins in one round trip. Keys (`room \0 user`) must be distinct.
 */
export async function recordFirstJoins (db: Database, joins: readonly FirstJoin[]): Promise<Map<string, number>> {
  const out = new Map<string, number>()
  if (joins.length === 0) return out
  const rows = await rawQuery<FirstJoinRow>(db, RECORD_FIRST_JOINS_SQL, [joins.map((j) => j.roomId), joins.map((j) => j.userId), joins.map((j) => j.afterSeq)])
  for (const row of rows) out.set(firstJoinKey(row.room_id, row.user_id), Number(row.after_seq))
  return out
}

interface FirstJoinRow { room_id: string, user_id: string, after_seq: string | number }

/**
 * Inserts the new first joins and answers every join's stored `after_seq`, in one statement of
 * fixed text (see `touchUsers`). A known join is "updated" to its own value so that RETURNING
 * yields it, and a join another transaction is inserting meanwhile waits for it and yields its
 * value. A read-back join against the table would depend on the plan: the generic plan cached
 * while the table was nearly empty seq-scans it, so a connect storm on a fresh database grew
 * quadratic (560 µs of Postgres CPU per group of 7 by 10,000 rows, measured).
 */
const RECORD_FIRST_JOINS_SQL = `
insert into room_first_joins (room_id, user_id, after_seq)
select room_id, user_id, after_seq from unnest($1::text[], $2::text[], $3::int8[]) as t(room_id, user_id, after_seq)
on conflict (room_id, user_id) do update set after_seq = room_first_joins.after_seq
returning room_id, user_id, after_seq`

/** Known first joins stay cached up to this many per database, then the cache starts over. */
const FIRST_JOINS_CACHED = 200_000

/**
 * Per database handle: first joins already recorded (a row is never changed once written, so
 * the cache needs no invalidation) and the coalescer that records new ones in groups.
 */
const firstJoinState = new WeakMap<Database, { known: Map<string, number>, coalescer: Coalescer<FirstJoin, number> }>()

/**
 * Records a user's first join of a room (kept if one exists); returns the seq their history
 * starts after. Every join calls this, so it is cheap: a rejoin known to this process costs no
 * round trip, and concurrent first joins are written together (see `Coalescer`).
 */
export async function recordFirstJoin (db: Database, roomId: string, userId: string, afterSeq: number): Promise<number> {
  let state = firstJoinState.get(db)
  if (state === undefined) {
    state = {
      known: new Map(),
      coalescer: new Coalescer((j) => firstJoinKey(j.roomId, j.userId), async (joins) => await recordFirstJoins(db, joins), { windowMs: CONNECT_GROUP_WINDOW_MS })
    }
    firstJoinState.set(db, state)
  }
  const key = firstJoinKey(roomId, userId)
  const known = state.known.get(key)
  if (known !== undefined) return known
  const seq = await state.coalescer.load({ roomId, userId, afterSeq })
  if (state.known.size >= FIRST_JOINS_CACHED) state.known.clear()
  state.known.set(key, seq)
  return seq
}

/** The seq a user's history starts after, or undefined if they never joined. */
export async function findFirstJoin (db: Database, roomId: string, userId: string): Promise<number | undefined> {
  const [row] = await db.select({ afterSeq: roomFirstJoins.afterSeq }).from(roomFirstJoins)
    .where(and(eq(roomFirstJoins.roomId, roomId), eq(roomFirstJoins.userId, userId)))
  return row?.afterSeq
}

export async function countOpenRooms (db: Database): Promise<number> {
  const [row] = await db.select({ n: sql<number>`count(*)::int` }).from(rooms).where(isNull(rooms.closedAt))
  return row?.n ?? 0
}

/** Rooms with a retention period, for the retention sweeper. */
export async function roomsWithRetention (db: Database): Promise<Array<{ id: string, retentionDays: number }>> {
  const rows = await db.select({ id: rooms.id, config: rooms.config }).from(rooms)
    .where(sql`${rooms.config} ? 'retentionDays'`)
  return rows.flatMap((r) => typeof r.config.retentionDays === 'number' ? [{ id: r.id, retentionDays: r.config.retentionDays }] : [])
}
