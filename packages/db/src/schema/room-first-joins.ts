import { bigint, pgTable, primaryKey, text, timestamp } from 'drizzle-orm/pg-core'
import { rooms } from './rooms.ts'

/**
 * When each user first joined each room, and the room's seq then: with
 * `config.historyForNewMembers: false` a user sees only messages after `after_seq`.
 */
export const roomFirstJoins = pgTable('room_first_joins', {
  roomId: text('room_id').notNull().references(() => rooms.id),
  userId: text('user_id').notNull(),
  afterSeq: bigint('after_seq', { mode: 'number' }).notNull(),
  joinedAt: timestamp('joined_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow()
}, (t) => [primaryKey({ columns: [t.roomId, t.userId] })])
