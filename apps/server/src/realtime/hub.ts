import { findRoom, firstStoredSeqAfter, readRange, recordFirstJoin, roomHeads, type Database, type MessageRow, type RoomRow } from '@pan/db'
import { randomUUID } from 'node:crypto'
import type { Bus, ControlEvent, ExpiredPresence } from '@pan/bus'
import { CloseCode } from '@pan/protocol'
import type { Logger } from '../logger.ts'
import type { Metrics } from '../metrics.ts'
import { decodeRoomEvent, encodeEvent, encodeMessages, frameType, messageFrame, messageItem, publishedBy, type MessageItem } from './room-events.ts'
import type { Connection, Membership } from './connection.ts'
import { joinWire, prepareFrame, type OutFrame } from './frame.ts'

/** How long an out-of-order message waits for the missing ones before they are read from the database. */
const GAP_WAIT_MS = 100
const REPLAY_PAGE = 1000

/** Whether `items` are `after + 1`, `after + 2`, … with none missing (and at least one). */
function follow (items: readonly MessageItem[], after: number): boolean {
  if (items.length === 0) return false
  for (let i = 0; i < items.length; i++) if ((items[i] as MessageItem).seq !== after + 1 + i) return false
  return true
}

/** This replica's view of one room with local members. */
class LocalRoom {
  readonly id: string
  /** Member sockets and their delivery state in this room (the same objects as in `conn.rooms`). */
  readonly members = new Map<Connection, Membership>()
  /** Highest seq delivered locally; undefined until the baseline is read after subscribing. */
  lastSeq: number | undefined
  /** Messages that arrived ahead of a gap, by seq. */
  readonly ahead = new Map<number, OutFrame>()
  gapTimer: NodeJS.Timeout | undefined
  filling = false
  /** The room's head in the database at the previous check; still undelivered a check later means a lost payload. */
  checkedHead: number | undefined
  unsubscribe: () => void = () => {}
  ready: Promise<void> = Promise.resolve()

  constructor (id: string) {
    this.id = id
  }
}

export interface JoinResult {
  seq: number
  truncated?: { from: number, to: number }
}

/**
 * Local rooms → member sockets. Receives each room's payloads from the bus, restores seq order
 * (holding early messages briefly, filling a persisting gap from the database) and writes each
 * serialised frame to every member socket.
 */
export class Hub {
  readonly #db: Database
  readonly #bus: Bus
  readonly #log: Logger
  readonly #metrics: Metrics
  readonly #rooms = new Map<string, LocalRoom>()
  /** A user's local connections: most users have one, so a Set only from the second. */
  readonly #byUser = new Map<string, Connection | Set<Connection>>()
  readonly connections = new Set<Connection>()
  #checkingHeads = false
  /** The `message` series of frames out, resolved once: it is counted for every delivered seq. */
  readonly #messageFramesOut: { inc: (n: number) => void }
  /** Marks this hub's bus payloads (several hubs may share one bus, as replicas in tests do). */
  readonly #origin = randomUUID().replaceAll('-', '').slice(0, 12)

  constructor (deps: { db: Database, bus: Bus, log: Logger, metrics: Metrics }) {
    this.#db = deps.db
    this.#bus = deps.bus
    this.#log = deps.log
    this.#metrics = deps.metrics
    this.#messageFramesOut = deps.metrics.framesOut.labels({ type: 'message' })
  }

  addConnection (conn: Connection): void {
    this.connections.add(conn)
    const userId = conn.principal?.id
    if (userId === undefined) return
    const known = this.#byUser.get(userId)
    if (known === undefined) this.#byUser.set(userId, conn)
    else if (known instanceof Set) known.add(conn)
    else if (known !== conn) this.#byUser.set(userId, new Set([known, conn]))
  }

  /** Takes a closed connection out of every room and of presence. */
  async removeConnection (conn: Connection): Promise<void> {
    this.connections.delete(conn)
    const userId = conn.principal?.id
    if (userId !== undefined) {
      const known = this.#byUser.get(userId)
      if (known === conn) this.#byUser.delete(userId)
      else if (known instanceof Set) {
        known.delete(conn)
        if (known.size === 0) this.#byUser.delete(userId)
      }
    }
    await Promise.all([...conn.rooms.keys()].map(async (room) => { await this.leave(conn, room) }))
  }

  connectionsOf (userId: string): Iterable<Connection> {
    const known = this.#byUser.get(userId)
    if (known === undefined) return []
    return known instanceof Set ? known : [known]
  }

  /** Ids of rooms with local members. */
  localRoomIds (): string[] {
    return [...this.#rooms.keys()]
  }

  /**
   * Makes `conn` a member of `room`: calls `sendJoined` with the room's seq (and any range lost to
   * retention), replays `(since, seq]`, then switches to live with no gap and no duplicate. With
   * `config.historyForNewMembers: false` the replay starts no earlier than the user's first join.
   */
  async join (conn: Connection, room: RoomRow, since: number | undefined, sendJoined: (result: JoinResult) => void): Promise<void> {
    const local = this.#ensureRoom(room.id)
    await local.ready
    const existing = conn.rooms.get(room.id)
    const membership: Membership = existing ?? { lastSeq: 0, replaying: true, pending: undefined, inPresence: false }
    membership.replaying = true
    membership.pending = undefined
    conn.rooms.set(room.id, membership)
    local.members.set(conn, membership)

    const principal = conn.principal
    const latest = local.lastSeq ?? 0
    let hiddenUpTo = 0
    if (principal !== undefined) {
      const afterSeq = await recordFirstJoin(this.#db, room.id, principal.id, latest)
      if (room.config.historyForNewMembers === false) hiddenUpTo = afterSeq
    }
    const result: JoinResult = { seq: latest }
    let from = since
    if (from !== undefined && from < latest) {
      from = Math.max(from, hiddenUpTo)
      const first = from < latest ? await firstStoredSeqAfter(this.#db, room.id, from) : null
      if (from < latest && (first === null || first > from + 1)) {
        const to = first === null ? latest : Math.min(first - 1, latest)
        result.truncated = { from: from + 1, to }
        from = to
      }
    }
    if (conn.rooms.get(room.id) !== membership) return // left or kicked meanwhile
    sendJoined(result)
    membership.lastSeq = Math.min(from ?? latest, latest)
    if (from !== undefined) await this.#replay(conn, room.id, membership, from, latest)
    this.#flushPending(conn, membership)
    membership.replaying = false
    if (principal !== undefined && principal.role !== 'viewer' && !membership.inPresence) {
      membership.inPresence = true
      const { firstForUser } = await this.#bus.presence.add(room.id, { userId: principal.id, connectionId: conn.id, name: conn.name, state: conn.state, since: Date.now() })
      if (firstForUser) {
        await this.publishEvent(room.id, { type: 'presence.join', room: room.id, user: { id: principal.id, name: conn.name, state: conn.state } }, conn.id)
      }
    }
  }

  async #replay (conn: Connection, roomId: string, membership: Membership, from: number, upTo: number): Promise<void> {
    let after = from
    while (after < upTo && !conn.closed && conn.rooms.get(roomId) === membership) {
      const rows = await readRange(this.#db, roomId, after, upTo, REPLAY_PAGE)
      if (rows.length === 0) break
      for (const row of rows) {
        conn.write(messageFrame(row))
        membership.lastSeq = row.seq
      }
      after = rows[rows.length - 1]?.seq ?? upTo
      this.#metrics.replayedMessages.inc(rows.length)
      this.#messageFramesOut.inc(rows.length)
    }
  }

  /** Writes the live messages that arrived during the replay and were not in it. */
  #flushPending (conn: Connection, membership: Membership): void {
    const pending = membership.pending
    if (pending === undefined) return
    membership.pending = undefined
    let flushed = 0
    for (const item of pending) {
      if (item.seq > membership.lastSeq) {
        conn.writeFrame(item.frame)
        membership.lastSeq = item.seq
        flushed++
      }
    }
    this.#messageFramesOut.inc(flushed)
  }

  /** Removes `conn` from `room`; true when it was a member. */
  async leave (conn: Connection, roomId: string): Promise<boolean> {
    const membership = conn.rooms.get(roomId)
    if (membership === undefined) return false
    conn.rooms.delete(roomId)
    const local = this.#rooms.get(roomId)
    if (local !== undefined) {
      local.members.delete(conn)
      if (local.members.size === 0) this.#dropRoom(local)
    }
    if (membership.inPresence && conn.principal !== undefined) {
      const { lastForUser } = await this.#bus.presence.remove(roomId, conn.principal.id, conn.id)
      if (lastForUser) {
        await this.publishEvent(roomId, { type: 'presence.leave', room: roomId, user: { id: conn.principal.id, name: conn.name, state: 'idle' } }, conn.id)
      }
    }
    return true
  }

  /**
   * Publishes a live event (stream, presence) to the room's members on every replica. Members on
   * this replica get it at once, like everything this hub publishes, so they see its events and
   * messages in the order it published them, whatever the bus's latency.
   */
  async publishEvent (roomId: string, frame: object, excludeConnectionId = ''): Promise<void> {
    const text = JSON.stringify(frame)
    const local = this.#rooms.get(roomId)
    if (local !== undefined) this.#writeEvent(local, text, excludeConnectionId)
    await this.#bus.publish(roomId, encodeEvent(text, this.#origin, excludeConnectionId))
  }

  /**
   * Hands a commit's new messages to the members on this replica at once (no bus round trip before
   * the writes) and publishes them, one payload per room, for the other replicas. The local writes
   * are done when it returns; the promise settles when the bus has taken the payloads. Called in
   * commit order for each room.
   */
  async publishCommitted (rows: readonly MessageRow[]): Promise<void> {
    const committedAt = Date.now()
    const byRoom = new Map<string, MessageItem[]>()
    for (const row of rows) {
      const list = byRoom.get(row.roomId)
      if (list === undefined) byRoom.set(row.roomId, [messageItem(row)])
      else list.push(messageItem(row))
    }
    const payloads: Array<{ room: string, payload: string }> = []
    for (const [roomId, items] of byRoom) {
      const local = this.#rooms.get(roomId)
      if (local !== undefined) this.#acceptMessages(local, items, committedAt)
      payloads.push({ room: roomId, payload: encodeMessages(items, this.#origin, committedAt) })
    }
    await this.#bus.publishMany(payloads)
  }

  #ensureRoom (roomId: string): LocalRoom {
    let local = this.#rooms.get(roomId)
    if (local !== undefined) return local
    local = new LocalRoom(roomId)
    this.#rooms.set(roomId, local)
    const room = local
    room.unsubscribe = this.#bus.subscribe(roomId, (payload) => { this.#onPayload(room, payload) })
    // Subscribe first (confirmed), then read the baseline: nothing committed after it is missed.
    room.ready = this.#bus.subscribed(roomId).then(async () => await findRoom(this.#db, roomId)).then((row) => {
      room.lastSeq = row?.lastSeq ?? 0
      for (const seq of [...room.ahead.keys()]) if (seq <= room.lastSeq) room.ahead.delete(seq)
      this.#drainAhead(room)
    })
    return room
  }

  #dropRoom (room: LocalRoom): void {
    room.unsubscribe()
    if (room.gapTimer !== undefined) clearTimeout(room.gapTimer)
    if (this.#rooms.get(room.id) === room) this.#rooms.delete(room.id)
  }

  #onPayload (room: LocalRoom, payload: string): void {
    if (publishedBy(payload, this.#origin)) return // delivered here when it was published
    const event = decodeRoomEvent(payload)
    if (event === undefined) return
    if (event.kind === 'event') this.#writeEvent(room, event.frame, event.exclude)
    else this.#acceptMessages(room, event.items, event.committedAt)
  }

  #writeEvent (room: LocalRoom, text: string, exclude: string): void {
    if (room.members.size === 0) return
    const frame = prepareFrame(text)
    const type = frameType(text)
    // Presence may wait a little for company (see DEFERRED_FLUSH_MS); stream deltas may not.
    const deferred = type.startsWith('presence.')
    let written = 0
    for (const conn of room.members.keys()) {
      if (conn.id !== exclude) {
        if (deferred) conn.writeFrameDeferred(frame)
        else conn.writeFrame(frame)
        written++
      }
    }
    if (written > 0) this.#metrics.framesOut.inc({ type }, written)
  }

  #acceptMessages (room: LocalRoom, items: readonly MessageItem[], committedAt: number): void {
    if (room.lastSeq !== undefined && room.ahead.size === 0 && follow(items, room.lastSeq)) {
      // The usual case, the next messages in order with nothing held: straight to the members.
      this.#deliver(room, room.lastSeq + 1, items.map((item) => prepareFrame(item.frame)))
    } else {
      for (const item of items) {
        if (room.lastSeq !== undefined && item.seq <= room.lastSeq) continue
        room.ahead.set(item.seq, prepareFrame(item.frame))
      }
      this.#drainAhead(room)
    }
    if (committedAt > 0) this.#metrics.fanoutSeconds.observe(Math.max(0, Date.now() - committedAt) / 1000)
  }

  /** Delivers consecutive messages from `ahead`; if a gap remains, waits briefly, then fills it from the database. */
  #drainAhead (room: LocalRoom): void {
    if (room.lastSeq === undefined) return
    const first = room.lastSeq + 1
    const run: OutFrame[] = []
    let frame = room.ahead.get(first)
    while (frame !== undefined) {
      room.ahead.delete(first + run.length)
      run.push(frame)
      frame = room.ahead.get(first + run.length)
    }
    if (run.length > 0) this.#deliver(room, first, run)
    if (room.ahead.size > 0 && room.gapTimer === undefined && !room.filling) {
      this.#metrics.busGaps.inc({ event: 'detected' })
      room.gapTimer = setTimeout(() => {
        room.gapTimer = undefined
        this.#fillGap(room).catch((err: unknown) => { this.#log.error({ err, room: room.id }, 'gap fill failed') })
      }, GAP_WAIT_MS)
    }
  }

  async #fillGap (room: LocalRoom): Promise<void> {
    if (room.lastSeq === undefined || room.ahead.size === 0) return
    await this.#fillTo(room, Math.min(...room.ahead.keys()) - 1)
  }

  /** Reads `(lastSeq, upTo]` (a page at most) from the database into `ahead`, then delivers. */
  async #fillTo (room: LocalRoom, upTo: number): Promise<void> {
    if (room.lastSeq === undefined || room.filling) return
    room.filling = true
    try {
      const rows = await readRange(this.#db, room.id, room.lastSeq, upTo, REPLAY_PAGE)
      for (const row of rows) {
        if (!room.ahead.has(row.seq) && row.seq > (room.lastSeq ?? 0)) room.ahead.set(row.seq, prepareFrame(messageFrame(row)))
      }
      if (rows.length > 0) this.#metrics.busGaps.inc({ event: 'filled' })
    } finally {
      room.filling = false
    }
    this.#drainAhead(room)
  }

  /**
   * Compares every local room's delivered seq with its head in the database, and fills what the
   * bus lost: a trailing payload has no later one to reveal its gap. `suspectAll` (after the bus
   * says it may have dropped payloads) fills every room behind its head at once; a routine check
   * only fills a room still behind the head seen one check earlier, so that payloads merely in
   * flight are not read twice.
   */
  async checkHeads (suspectAll = false): Promise<void> {
    if (this.#checkingHeads && !suspectAll) return // a slow database must not pile checks up
    const rooms = [...this.#rooms.values()].filter((room) => room.lastSeq !== undefined)
    if (rooms.length === 0) return
    this.#checkingHeads = true
    let heads: Map<string, number>
    try {
      heads = await roomHeads(this.#db, rooms.map((room) => room.id))
    } finally {
      this.#checkingHeads = false
    }
    await Promise.all(rooms.map(async (room) => {
      const head = heads.get(room.id)
      if (head === undefined || room.lastSeq === undefined) return
      const behind = suspectAll ? head : Math.min(head, room.checkedHead ?? 0)
      room.checkedHead = head
      if (room.lastSeq >= behind || room.filling) return
      this.#metrics.busGaps.inc({ event: 'detected' })
      while (room.lastSeq !== undefined && room.lastSeq < behind && this.#rooms.get(room.id) === room) {
        const before: number = room.lastSeq
        await this.#fillTo(room, behind)
        if (room.lastSeq === before) break
      }
    }))
  }

  /** Announces the leave of users whose replica died; this replica is the one that noticed. */
  async onPresenceExpired (left: readonly ExpiredPresence[]): Promise<void> {
    await Promise.all(left.map(async ({ room, userId, name }) => {
      await this.publishEvent(room, { type: 'presence.leave', room, user: { id: userId, name, state: 'idle' } })
    }))
  }

  /**
   * Writes the consecutive messages `first, first + 1, …` to every member (one write per socket
   * for the whole run when the member has none of them yet, which is the usual case) and moves the
   * room's delivered seq to the last of them.
   */
  #deliver (room: LocalRoom, first: number, frames: readonly OutFrame[]): void {
    const last = first + frames.length - 1
    room.lastSeq = last
    let wire: Buffer | undefined
    let written = 0
    room.members.forEach((m, conn) => {
      if (m.replaying) {
        m.pending ??= []
        for (let i = 0; i < frames.length; i++) m.pending.push({ seq: first + i, frame: frames[i] as OutFrame })
      } else if (m.lastSeq < first) {
        wire ??= joinWire(frames)
        m.lastSeq = last
        conn.writeFrames(frames, wire)
        written += frames.length
      } else if (m.lastSeq < last) {
        for (let i = m.lastSeq + 1 - first; i < frames.length; i++) conn.writeFrame(frames[i] as OutFrame)
        written += last - m.lastSeq
        m.lastSeq = last
      }
    })
    this.#metrics.deliveries.inc(written)
    this.#messageFramesOut.inc(written)
  }

  /** Applies a control event to local connections. */
  async onControl (event: ControlEvent): Promise<void> {
    switch (event.type) {
      case 'ban':
        for (const conn of [...this.connectionsOf(event.userId)]) {
          if (event.roomId === null) {
            conn.close(CloseCode.banned, 'banned')
          } else {
            await this.kick(conn, event.roomId, 'banned')
          }
        }
        break
      case 'membership_revoked':
        for (const conn of [...this.connectionsOf(event.userId)]) {
          if (conn.principal?.role === 'agent') await this.kick(conn, event.roomId, 'membership revoked')
        }
        break
      case 'room_closed': {
        const local = this.#rooms.get(event.roomId)
        if (local !== undefined) {
          for (const conn of [...local.members.keys()]) await this.kick(conn, event.roomId, 'room closed')
        }
        break
      }
      default:
        break
    }
  }

  async kick (conn: Connection, roomId: string, reason: string): Promise<void> {
    if (!conn.rooms.has(roomId)) return
    conn.send({ type: 'kicked', room: roomId, reason })
    await this.leave(conn, roomId)
  }

  close (): void {
    for (const room of [...this.#rooms.values()]) this.#dropRoom(room)
  }
}
