import { bigint, index, jsonb, pgTable, primaryKey, text, timestamp, uniqueIndex } from 'drizzle-orm/pg-core'
import { rooms } from './rooms.ts'

/**
 * Stored messages. `(room_id, seq)` is gapless per room; `(room_id, sender_id, client_id)`
 * makes sends idempotent.
 */
export const messages = pgTable('messages', {
  roomId: text('room_id').notNull().references(() => rooms.id),
  seq: bigint('seq', { mode: 'number' }).notNull(),
  clientId: text('client_id').notNull(),
  senderId: text('sender_id').notNull(),
  /** The sender's display name when the message was sent. */
  senderName: text('sender_name').notNull(),
  text: text('text'),
  data: jsonb('data').$type<Record<string, unknown>>(),
  /** `complete` or `interrupted` when a stream produced the message; null for a plain send. */
  streamStatus: text('stream_status').$type<'complete' | 'interrupted'>(),
  createdAt: timestamp('created_at', { withTimezone: true, mode: 'date' }).notNull().defaultNow()
}, (t) => [
  primaryKey({ columns: [t.roomId, t.seq] }),
  uniqueIndex('messages_idempotency').on(t.roomId, t.senderId, t.clientId),
  index('messages_room_sender_seq').on(t.roomId, t.senderId, t.seq)
])
