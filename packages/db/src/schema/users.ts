import { jsonb, pgTable, text, timestamp } from 'drizzle-orm/pg-core'

/** One row per JWT `sub` ever seen; created on first sight. */
export const users = pgTable('users', {
  id: text('id').primaryKey(),
  /** Display name; null until a token or an admin gives one. */
  name: text('name'),
  /** The role of the latest token seen for this user. */
  role: text('role').notNull().default('agent'),
  metadata: jsonb('metadata').$type<Record<string, unknown>>().notNull().default({}),
  createdAt: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
  lastSeenAt: timestamp('last_seen_at', { withTimezone: true, mode: 'date' })
})
