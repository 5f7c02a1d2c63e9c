import { and, asc, eq, gt, type SQL } from 'drizzle-orm'
import type { Database } from '../database.ts'
import { roomMembers } from '../schema/room-members.ts'

export type MemberRow = typeof roomMembers.$inferSelect

/** Grants membership; granting twice keeps the first grant. */
export async function addMember (db: Database, roomId: string, userId: string, addedBy: string | null): Promise<void> {
  await db.insert(roomMembers).values({ roomId, userId, addedBy }).onConflictDoNothing()
}

/** Revokes membership; true when there was one. */
export async function removeMember (db: Database, roomId: string, userId: string): Promise<boolean> {
  const rows = await db.delete(roomMembers)
    .where(and(eq(roomMembers.roomId, roomId), eq(roomMembers.userId, userId)))
    .returning({ userId: roomMembers.userId })
  return rows.length > 0
}

export async function isMember (db: Database, roomId: string, userId: string): Promise<boolean> {
  const rows = await db.select({ userId: roomMembers.userId }).from(roomMembers)
    .where(and(eq(roomMembers.roomId, roomId), eq(roomMembers.userId, userId)))
  return rows.length > 0
}

/** Members in user id order, after `afterUser` (exclusive). */
export async function listMembers (db: Database, roomId: string, afterUser: string | undefined, limit: number): Promise<MemberRow[]> {
  const conditions: SQL[] = [eq(roomMembers.roomId, roomId)]
  if (afterUser !== undefined) conditions.push(gt(roomMembers.userId, afterUser))
  return await db.select().from(roomMembers).where(and(...conditions)).orderBy(asc(roomMembers.userId)).limit(limit)
}
