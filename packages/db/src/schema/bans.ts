import { index, pgTable, text, timestamp } from 'drizzle-orm/pg-core'

/** Bans: room-scoped when `room_id` is set, network-wide otherwise. Lifting keeps the row. */
export const bans = pgTable('bans', {
  id: text('id').primaryKey(),
  userId: text('user_id').notNull(),
  roomId: text('room_id'),
  reason: text('reason'),
  createdBy: text('created_by'),
  createdAt: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow(),
  expiresAt: timestamp('expires_at', { withTimezone: true, mode: 'date' }),
  liftedAt: timestamp('lifted_at', { withTimezone: true, mode: 'date' })
}, (t) => [index('bans_user').on(t.userId), index('bans_room').on(t.roomId)])
