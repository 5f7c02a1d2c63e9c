import { randomUUID } from 'node:crypto'
import { and, asc, eq, gt, isNotNull, isNull, or, sql, type SQL } from 'drizzle-orm'
import type { Database } from '../database.ts'
import { rawQuery } from '../raw.ts'
import { bans } from '../schema/bans.ts'

export type BanRow = typeof bans.$inferSelect

export interface NewBan {
  userId: string
  roomId: string | null
  reason: string | null
  createdBy: string | null
  expiresAt: Date | null
}

export async function insertBan (db: Database, ban: NewBan): Promise<BanRow> {
  const [row] = await db.insert(bans).values({ id: randomUUID(), ...ban }).returning()
  if (row === undefined) throw new Error('insert returned no row')
  return row
}

/** Lifts a ban (sets `liftedAt`, keeps the row); undefined when no such ban. */
export async function liftBan (db: Database, id: string): Promise<BanRow | undefined> {
  const [row] = await db.update(bans)
    .set({ liftedAt: sql`coalesce(${bans.liftedAt}, now())` })
    .where(eq(bans.id, id))
    .returning()
  return row
}

export async function findBan (db: Database, id: string): Promise<BanRow | undefined> {
  const [row] = await db.select().from(bans).where(eq(bans.id, id))
  return row
}

const activeCondition = (): SQL => and(isNull(bans.liftedAt), or(isNull(bans.expiresAt), gt(bans.expiresAt, sql`now()`))) as SQL
const inactiveCondition = (): SQL => or(isNotNull(bans.liftedAt), and(isNotNull(bans.expiresAt), sql`${bans.expiresAt} <= now()`)) as SQL

/** The user's active bans: network-wide (`roomId` null) and per room. */
export async function activeBansOf (db: Database, userId: string): Promise<BanRow[]> {
  return await db.select().from(bans).where(and(eq(bans.userId, userId), activeCondition()))
}

/**
 * `activeBansOf` for many users in one statement: every id asked for is in the map, with [] when
 * not banned. Fixed text (see `touchUsers`): every first connect of a user runs it.
 */
const ACTIVE_BANS_SQL = `
select id, user_id, room_id, reason, created_by,
  floor(extract(epoch from created_at) * 1000)::int8 as created_ms,
  floor(extract(epoch from expires_at) * 1000)::int8 as expires_ms
from bans
where user_id = any($1::text[]) and lifted_at is null and (expires_at is null or expires_at > now())`

interface ActiveBanRow { id: string, user_id: string, room_id: string | null, reason: string | null, created_by: string | null, created_ms: string | number, expires_ms: string | number | null }

export async function activeBansOfUsers (db: Database, userIds: readonly string[]): Promise<Map<string, BanRow[]>> {
  const out = new Map<string, BanRow[]>(userIds.map((id) => [id, []]))
  if (userIds.length === 0) return out
  const rows = await rawQuery<ActiveBanRow>(db, ACTIVE_BANS_SQL, [[...userIds]])
  for (const row of rows) {
    out.get(row.user_id)?.push({
      id: row.id,
      userId: row.user_id,
      roomId: row.room_id,
      reason: row.reason,
      createdBy: row.created_by,
      createdAt: new Date(Number(row.created_ms)),
      expiresAt: row.expires_ms === null ? null : new Date(Number(row.expires_ms)),
      liftedAt: null
    })
  }
  return out
}

export interface BanListQuery {
  roomId?: string | undefined
  userId?: string | undefined
  active?: boolean | undefined
  /** Exclusive keyset cursor: the id of the last ban of the previous page. */
  afterId?: string | undefined
  limit: number
}

/**
 * Bans in `(createdAt, id)` order, resuming after the ban `afterId`. The keyset is read from the
 * row itself rather than carried in the cursor: `created_at` has microseconds while a JS `Date`
 * has milliseconds, so a cursor holding the timestamp would repeat the rows of its last
 * millisecond. An unknown `afterId` yields an empty page.
 */
export async function listBans (db: Database, q: BanListQuery): Promise<BanRow[]> {
  const conditions: SQL[] = []
  if (q.roomId !== undefined) conditions.push(eq(bans.roomId, q.roomId))
  if (q.userId !== undefined) conditions.push(eq(bans.userId, q.userId))
  if (q.active === true) conditions.push(activeCondition())
  if (q.active === false) conditions.push(inactiveCondition())
  if (q.afterId !== undefined) {
    conditions.push(sql`(${bans.createdAt}, ${bans.id}) > (select b.created_at, b.id from bans b where b.id = ${q.afterId})`)
  }
  return await db.select().from(bans).where(and(...conditions)).orderBy(asc(bans.createdAt), asc(bans.id)).limit(q.limit)
}
