import { and, asc, eq, gt, isNotNull, isNull, or, sql, type SQL } from 'drizzle-orm'
import type { Database } from '../database.ts'
import { bans } from '../schema/bans.ts'
import type { BanRow } from './bans.ts'

export interface BanPageQuery {
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
 * has milliseconds, so a cursor holding the timestamp would repeat the rows of its last millisecond
 * (`listBans`' `after` does). An unknown `afterId` yields an empty page.
 */
export async function listBansPage (db: Database, q: BanPageQuery): Promise<BanRow[]> {
  const conditions: SQL[] = []
  if (q.roomId !== undefined) conditions.push(eq(bans.roomId, q.roomId))
  if (q.userId !== undefined) conditions.push(eq(bans.userId, q.userId))
  if (q.active === true) conditions.push(and(isNull(bans.liftedAt), or(isNull(bans.expiresAt), gt(bans.expiresAt, sql`now()`))) as SQL)
  if (q.active === false) conditions.push(or(isNotNull(bans.liftedAt), and(isNotNull(bans.expiresAt), sql`${bans.expiresAt} <= now()`)) as SQL)
  if (q.afterId !== undefined) {
    conditions.push(sql`(${bans.createdAt}, ${bans.id}) > (select b.created_at, b.id from bans b where b.id = ${q.afterId})`)
  }
  return await db.select().from(bans).where(and(...conditions)).orderBy(asc(bans.createdAt), asc(bans.id)).limit(q.limit)
}
