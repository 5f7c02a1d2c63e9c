import type { Database } from '../database.ts'
import { errorColumn, rawQuery, rawTransaction, sqlState, type RawQuery } from '../raw.ts'
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

/**
 * One statement, one round trip, fixed text (postgres.js prepares it once per connection): the
 * batch arrives as parallel arrays. It locks the batch's rooms in id order (so concurrent commits,
 * from this process or another replica, serialise per room and never deadlock), numbers the first
 * occurrence of each `(room, sender, clientId)` in an open room from the room's `last_seq`,
 * inserts them and bumps `last_seq`.
 *
 * Re-sends are found by the insert itself (`ON CONFLICT` on `messages_idempotency`): no probe that
 * the planner could turn into a scan of the sender's history (250 ms per commit on an unanalysed
 * table, see docs/benchmarks.md). A conflicting row was numbered already, so storing the rest
 * would leave a gap: the bump then sets `last_seq` to null, the NOT NULL constraint aborts the
 * whole statement, and `commitMessages` commits the batch again with its rooms locked first,
 * leaving out the stored ones.
 *
 * Returns one row per input message: its seq if stored now, whether its room exists and is closed,
 * and the commit's timestamp (`now()`, what `created_at` defaults to) in epoch ms, truncated as a
 * JS Date truncates the stored microseconds.
 */
const COMMIT_SQL = `
with input as materialized (
  select * from unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[])
    with ordinality as t(room_id, sender_id, client_id, sender_name, text, data, stream_status, ord)
),
locked as materialized (
  select id, last_seq, closed_at from rooms where id = any($8::text[]) order by id for update
),
numbered as materialized (
  select i.*, l.last_seq + row_number() over (partition by i.room_id order by i.ord) as seq
  from (select distinct on (room_id, sender_id, client_id) * from input order by room_id, sender_id, client_id, ord) i
  join locked l on l.id = i.room_id and l.closed_at is null
),
ins as (
  insert into messages (room_id, seq, client_id, sender_id, sender_name, text, data, stream_status)
  select room_id, seq, client_id, sender_id, sender_name, text, data::jsonb, stream_status from numbered
  on conflict (room_id, sender_id, client_id) do nothing
  returning 1
),
bump as (
  update rooms set last_seq = case when (select count(*) from ins) = (select count(*) from numbered) then b.seq end
  from (select room_id, max(seq) as seq from numbered group by room_id) b
  where rooms.id = b.room_id
)
select i.ord::int4 as ord, n.seq, l.id is not null as found, l.closed_at is not null as closed,
  floor(extract(epoch from now()) * 1000)::int8 as ts
from input i left join locked l on l.id = i.room_id left join numbered n on n.ord = i.ord`

const LOCK_SQL = 'select id from rooms where id = any($1::text[]) order by id for update'

/** The stored rows among the given keys (a join on the unique index, one probe per key). */
const STORED_SQL = `
select m.room_id, m.seq, m.client_id, m.sender_id, m.sender_name, m.text, m.data::text as data, m.stream_status,
  floor(extract(epoch from m.created_at) * 1000)::int8 as ts
from unnest($1::text[], $2::text[], $3::text[]) as k(room_id, sender_id, client_id)
join messages m on m.room_id = k.room_id and m.sender_id = k.sender_id and m.client_id = k.client_id`

interface CommitRow { ord: number, seq: string | number | null, found: boolean, closed: boolean, ts: string | number }
interface StoredRow {
  room_id: string
  seq: string | number
  client_id: string
  sender_id: string
  sender_name: string
  text: string | null
  data: string | null
  stream_status: 'complete' | 'interrupted' | null
  ts: string | number
}

const key = (roomId: string, senderId: string, clientId: string): string => `${roomId}\u0000${senderId}\u0000${clientId}`

/**
 * Commits a batch of messages in one statement (group commit). Seqs are gapless per room, in the
 * batch's order within a room, across replicas. A `(room, sender, clientId)` already stored, or
 * repeated inside the batch, yields the original row with `duplicate: true` and stores nothing.
 * Outcomes are in the batch's order.
 *
 * A new message's row is built from its input (text, data and name as sent), not read back: the
 * statement returns only its seq and the commit time.
 */
export async function commitMessages (db: Database, batch: readonly NewMessage[]): Promise<CommitOutcome[]> {
  if (batch.length === 0) return []
  let outcomes: CommitOutcome[]
  try {
    outcomes = await insertBatch(async (text, params) => await rawQuery(db, text, params), batch)
  } catch (err) {
    if (!isConflictAbort(err)) throw err
    outcomes = await commitWithResends(db, batch)
  }
  return await withClosedRoomResends(db, batch, outcomes)
}

/**
 * The batch holds re-sends of stored messages: lock its rooms first, so that no other commit can
 * store one of its ids meanwhile, look the stored ones up, and commit the rest.
 */
async function commitWithResends (db: Database, batch: readonly NewMessage[]): Promise<CommitOutcome[]> {
  return await rawTransaction(db, async (query) => {
    await query(LOCK_SQL, [roomsOf(batch)])
    const known = new Map((await storedRows(query, batch)).map((r) => [key(r.roomId, r.senderId, r.clientId), r]))
    const pending = batch.filter((m) => !known.has(key(m.roomId, m.senderId, m.clientId)))
    const fresh = await insertBatch(query, pending)
    let next = 0
    return batch.map((m): CommitOutcome => {
      const stored = known.get(key(m.roomId, m.senderId, m.clientId))
      if (stored !== undefined) return { ok: true, duplicate: true, message: stored }
      const outcome = fresh[next++]
      if (outcome === undefined) throw new Error('commit outcomes out of step with the batch')
      return outcome
    })
  })
}

const roomsOf = (batch: readonly NewMessage[]): string[] => [...new Set(batch.map((m) => m.roomId))].sort()

/** Runs the commit statement; outcomes of `batch` in order, duplicates within it pointing at their first occurrence. */
async function insertBatch (query: RawQuery, batch: readonly NewMessage[]): Promise<CommitOutcome[]> {
  if (batch.length === 0) return []
  const rows = await query<CommitRow>(COMMIT_SQL, [
    batch.map((m) => m.roomId),
    batch.map((m) => m.senderId),
    batch.map((m) => m.clientId),
    batch.map((m) => m.senderName),
    batch.map((m) => m.text ?? null),
    batch.map((m) => m.data === undefined ? null : JSON.stringify(m.data)),
    batch.map((m) => m.streamStatus ?? null),
    roomsOf(batch)
  ])
  const byOrd: Array<CommitRow | undefined> = []
  for (const row of rows) byOrd[row.ord - 1] = row
  const firstOfKey = new Map<string, MessageRow>()
  return batch.map((m, i): CommitOutcome => {
    const row = byOrd[i]
    if (row === undefined) throw new Error('commit statement returned no row for a message')
    if (!row.found) return { ok: false, reason: 'room_not_found' }
    if (row.closed) return { ok: false, reason: 'room_closed' }
    const k = key(m.roomId, m.senderId, m.clientId)
    if (row.seq === null) {
      const first = firstOfKey.get(k)
      if (first === undefined) throw new Error('commit statement skipped a message that is not a repeat')
      return { ok: true, duplicate: true, message: first }
    }
    const message: MessageRow = {
      roomId: m.roomId,
      seq: Number(row.seq),
      clientId: m.clientId,
      senderId: m.senderId,
      senderName: m.senderName,
      text: m.text ?? null,
      data: m.data ?? null,
      streamStatus: m.streamStatus ?? null,
      createdAt: new Date(Number(row.ts))
    }
    firstOfKey.set(k, message)
    return { ok: true, duplicate: false, message }
  })
}

/**
 * A re-send of a stored message answers the original even when its room has closed since: the
 * statement does not number messages of closed rooms, so it never meets their conflicts.
 */
async function withClosedRoomResends (db: Database, batch: readonly NewMessage[], outcomes: CommitOutcome[]): Promise<CommitOutcome[]> {
  const closed = batch.filter((_, i) => outcomes[i]?.ok === false && outcomes[i].reason === 'room_closed')
  if (closed.length === 0) return outcomes
  const stored = new Map((await storedRows(async (text, params) => await rawQuery(db, text, params), closed)).map((r) => [key(r.roomId, r.senderId, r.clientId), r]))
  return outcomes.map((o, i) => {
    const m = batch[i] as NewMessage
    const row = o.ok ? undefined : stored.get(key(m.roomId, m.senderId, m.clientId))
    return row === undefined ? o : { ok: true, duplicate: true, message: row }
  })
}

async function storedRows (query: RawQuery, batch: readonly NewMessage[]): Promise<MessageRow[]> {
  const rows = await query<StoredRow>(STORED_SQL, [
    batch.map((m) => m.roomId),
    batch.map((m) => m.senderId),
    batch.map((m) => m.clientId)
  ])
  return rows.map((r) => ({
    roomId: r.room_id,
    seq: Number(r.seq),
    clientId: r.client_id,
    senderId: r.sender_id,
    senderName: r.sender_name,
    text: r.text,
    data: r.data === null ? null : JSON.parse(r.data) as Record<string, unknown>,
    streamStatus: r.stream_status,
    createdAt: new Date(Number(r.ts))
  }))
}

/** The commit statement's deliberate abort when a message was stored already (see COMMIT_SQL). */
function isConflictAbort (err: unknown): boolean {
  return sqlState(err) === '23502' && errorColumn(err) === 'last_seq'
}
