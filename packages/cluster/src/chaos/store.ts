import postgres from 'postgres'

/** One stored message, as the tally needs it. */
export interface StoredMessage {
  seq: number
  clientId: string
  senderId: string
  /** Commit-transaction time, epoch ms (Postgres `now()` on this machine). */
  createdMs: number
}

/** A room's rows in seq order, and its head (highest seq; 0 when empty). */
export interface StoredRoom {
  head: number
  rows: StoredMessage[]
}

/** Reads what the cluster stored, straight from its database (not through the servers under test). */
export class Store {
  readonly #sql: postgres.Sql

  constructor (databaseUrl: string) {
    this.#sql = postgres(databaseUrl, { max: 2, onnotice: () => {}, connect_timeout: 10, idle_timeout: 5 })
  }

  /** Highest stored seq of each room (0 for a room without messages). */
  async heads (rooms: readonly string[]): Promise<Map<string, number>> {
    const found = await this.#sql<Array<{ room: string, head: number }>>`
      select room_id as room, max(seq)::int as head from messages where room_id in ${this.#sql(rooms)} group by room_id`
    const heads = new Map(rooms.map((room) => [room, 0]))
    for (const { room, head } of found) heads.set(room, head)
    return heads
  }

  /** Every stored message of `rooms`. */
  async rooms (rooms: readonly string[]): Promise<Map<string, StoredRoom>> {
    const rows = await this.#sql<Array<StoredMessage & { room: string }>>`
      select room_id as room, seq::int as seq, client_id as "clientId", sender_id as "senderId",
             (extract(epoch from created_at) * 1000)::float8 as "createdMs"
      from messages where room_id in ${this.#sql(rooms)} order by room_id, seq`
    const byRoom = new Map<string, StoredRoom>(rooms.map((room) => [room, { head: 0, rows: [] }]))
    for (const { room, ...row } of rows) {
      const stored = byRoom.get(room)
      if (stored === undefined) continue
      stored.rows.push(row)
      if (row.seq > stored.head) stored.head = row.seq
    }
    return byRoom
  }

  async close (): Promise<void> {
    await this.#sql.end({ timeout: 5 })
  }
}
