import { bigint, jsonb, pgTable, text, timestamp } from 'drizzle-orm/pg-core'

export interface RoomConfigColumn {
  maxMessageBytes?: number
  sendPerSec?: number
  retentionDays?: number
  historyForNewMembers?: boolean
}

/** Rooms. `last_seq` is the per-room counter: bumped in the same transaction that inserts messages. */
export const rooms = pgTable('rooms', {
  id: text('id').primaryKey(),
  name: text('name').notNull(),
  visibility: text('visibility').$type<'public' | 'private'>().notNull(),
  config: jsonb('config').$type<RoomConfigColumn>().notNull().default({}),
  metadata: jsonb('metadata').$type<Record<string, unknown>>().notNull().default({}),
  createdBy: text('created_by'),
  createdAt: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
  closedAt: timestamp('closed_at', { withTimezone: true, mode: 'date' }),
  lastSeq: bigint('last_seq', { mode: 'number' }).notNull().default(0)
})
