import { eq, sql } from 'drizzle-orm'
import type { Database } from '../database.ts'
import { rawQuery } from '../raw.ts'
import { users } from '../schema/users.ts'

export type UserRow = typeof users.$inferSelect

/**
 * Creates the user on first sight, else refreshes `lastSeenAt` and role. The token's name fills
 * `name` only while the user has none.
 */
export async function touchUser (db: Database, id: string, name: string | null, role: string): Promise<UserRow> {
  const [row] = await db.insert(users)
    .values({ id, name, role, lastSeenAt: new Date() })
    .onConflictDoUpdate({
      target: users.id,
      set: { lastSeenAt: sql`excluded.last_seen_at`, role: sql`excluded.role`, name: sql`coalesce(${users.name}, excluded.name)` }
    })
    .returning()
  if (row === undefined) throw new Error('upsert returned no row')
  return row
}

/** A user as seen in a token: `touchUsers` input. */
export interface SeenUser {
  id: string
  name: string | null
  role: string
}

/**
 * `touchUser` for many users in one statement (ids must be distinct: one row may not be
 * updated twice by one `ON CONFLICT DO UPDATE`). Answers each user's stored name by id.
 *
 * Fixed text over parallel arrays rather than drizzle's multi-row VALUES: every connect runs it,
 * and on PGlite building, parsing and planning a VALUES list of N rows cost ~4× the rows
 * themselves (216 against 58 µs a row in groups of 20, measured on this machine).
 */
const TOUCH_USERS_SQL = `
insert into users (id, name, role, last_seen_at)
select id, name, role, now() from unnest($1::text[], $2::text[], $3::text[]) as t(id, name, role)
on conflict (id) do update set last_seen_at = excluded.last_seen_at, role = excluded.role, name = coalesce(users.name, excluded.name)
returning id, name`

export async function touchUsers (db: Database, seen: readonly SeenUser[]): Promise<Map<string, string | null>> {
  if (seen.length === 0) return new Map()
  const rows = await rawQuery<{ id: string, name: string | null }>(db, TOUCH_USERS_SQL, [seen.map((u) => u.id), seen.map((u) => u.name), seen.map((u) => u.role)])
  return new Map(rows.map((r) => [r.id, r.name]))
}

export async function findUser (db: Database, id: string): Promise<UserRow | undefined> {
  const [row] = await db.select().from(users).where(eq(users.id, id))
  return row
}

export async function updateUser (db: Database, id: string, patch: { name?: string | undefined, metadata?: Record<string, unknown> | undefined }): Promise<UserRow | undefined> {
  const set: Partial<typeof users.$inferInsert> = {}
  if (patch.name !== undefined) set.name = patch.name
  if (patch.metadata !== undefined) set.metadata = patch.metadata
  if (Object.keys(set).length === 0) return await findUser(db, id)
  const [row] = await db.update(users).set(set).where(eq(users.id, id)).returning()
  return row
}
