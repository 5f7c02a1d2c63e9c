import { pgTable, primaryKey, text, timestamp } from 'drizzle-orm/pg-core'
import { rooms } from './rooms.ts'

/** Membership grants of private rooms. */
export const roomMembers = pgTable('room_members', {
  roomId: text('room_id').notNull().references(() => rooms.id),
  userId: text('user_id').notNull(),
  addedBy: text('added_by'),
  addedAt: timestamp('added_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow()
}, (t) => [primaryKey({ columns: [t.roomId, t.userId] })])
