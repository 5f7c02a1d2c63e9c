import { asc, sql } from 'drizzle-orm'
import type { Database } from '../database.ts'
import { messages } from '../schema/messages.ts'
import { rooms } from '../schema/rooms.ts'
import type { MessageRow } from './messages.ts'

/** A message waiting to be committed. */
export interface NewMessage {
  roomId: string
  clientId: string
  senderId: string
  senderName: string
  text?: string | undefined
  data?: Record<string, unknown> | undefined
  streamStatus?: 'complete' | 'interrupted' | undefined
}

export type CommitOutcome =
  | { ok: true, duplicate: boolean, message: MessageRow }
  | { ok: false, reason: 'room_not_found' | 'room_closed' }

const key = (roomId: string, senderId: string, clientId: string): string => `${roomId}\u0000${senderId}\u0000${clientId}`

/**
 * Commits a batch of messages in one transaction (group commit). Rooms are locked in id order,
 * so concurrent batches, from this process or another replica, serialise per room and seqs stay
 * gapless. A `(room, sender, clientId)` already stored, or repeated inside the batch, yields the
 * original row with `duplicate: true` and stores nothing. Outcomes are in the batch's order.
 */
export async function commitMessages (db: Database, batch: readonly NewMessage[]): Promise<CommitOutcome[]> {
  if (batch.length === 0) return []
  return await db.transaction(async (tx) => {
    const roomIds = [...new Set(batch.map((m) => m.roomId))].sort()
    const locked = await tx.select({ id: rooms.id, lastSeq: rooms.lastSeq, closedAt: rooms.closedAt })
      .from(rooms)
      .where(sql`${rooms.id} in ${roomIds}`)
      .orderBy(asc(rooms.id))
      .for('update')
    const roomState = new Map(locked.map((r) => [r.id, r]))

    const keys = sql.join(batch.map((m) => sql`(${m.roomId}, ${m.senderId}, ${m.clientId})`), sql`, `)
    const existingRows = await tx.select().from(messages)
      .where(sql`(${messages.roomId}, ${messages.senderId}, ${messages.clientId}) in (${keys})`)
    const known = new Map(existingRows.map((r) => [key(r.roomId, r.senderId, r.clientId), r]))

    const outcomes: Array<CommitOutcome | { pending: string }> = []
    const toInsert: Array<typeof messages.$inferInsert> = []
    const nextSeq = new Map<string, number>()
    const pendingKeys = new Set<string>()
    for (const m of batch) {
      const k = key(m.roomId, m.senderId, m.clientId)
      const stored = known.get(k)
      if (stored !== undefined) { outcomes.push({ ok: true, duplicate: true, message: stored }); continue }
      if (pendingKeys.has(k)) { outcomes.push({ pending: k }); continue }
      const room = roomState.get(m.roomId)
      if (room === undefined) { outcomes.push({ ok: false, reason: 'room_not_found' }); continue }
      if (room.closedAt !== null) { outcomes.push({ ok: false, reason: 'room_closed' }); continue }
      const seq = (nextSeq.get(m.roomId) ?? room.lastSeq) + 1
      nextSeq.set(m.roomId, seq)
      pendingKeys.add(k)
      outcomes.push({ pending: k })
      toInsert.push({
        roomId: m.roomId,
        seq,
        clientId: m.clientId,
        senderId: m.senderId,
        senderName: m.senderName,
        text: m.text ?? null,
        data: m.data ?? null,
        streamStatus: m.streamStatus ?? null
      })
    }
    if (toInsert.length > 0) {
      const inserted = await tx.insert(messages).values(toInsert).returning()
      for (const row of inserted) known.set(key(row.roomId, row.senderId, row.clientId), row)
      const bumps = sql.join([...nextSeq].map(([id, seq]) => sql`(${id}, ${seq}::bigint)`), sql`, `)
      await tx.execute(sql`update rooms set last_seq = v.seq from (values ${bumps}) as v(id, seq) where rooms.id = v.id`)
    }
    const firstOfKey = new Set<string>()
    return outcomes.map((o) => {
      if (!('pending' in o)) return o
      const row = known.get(o.pending)
      if (row === undefined) throw new Error('committed row missing from RETURNING')
      const duplicate = firstOfKey.has(o.pending)
      firstOfKey.add(o.pending)
      return { ok: true, duplicate, message: row }
    })
  })
}
