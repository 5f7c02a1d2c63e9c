import type { Message, ServerFrame } from '@pan/protocol'
import type { Connection } from './connection.ts'
import { ClosedError, KickedError, RETRYABLE_CODES, RequestError, TimeoutError } from './errors.ts'
import { fullJitter } from './backoff.ts'
import type { Refs } from './refs.ts'
import { Room, type PresenceEvent, type RoomHost, type StreamEvent } from './room.ts'
import { RoomLog } from './room-log.ts'

interface Entry {
  id: string
  handle: Room
  log: RoomLog
  /** The application joined it (false: joined only so that sends and streams can go out). */
  delivering: boolean
  /** Number of the connection on which the latest `joined` arrived. */
  joinedOn: number
  joinFailures: number
  retryTimer: ReturnType<typeof setTimeout> | undefined
  waiters: Array<{ resolve: (room: Room) => void, reject: (err: unknown) => void }>
}

export interface RoomsHost {
  connection: Connection
  refs: Refs
  roomHost: RoomHost
  maxBuffered: number
  requestTimeoutMs: number
  /** Every message with `after < seq < before`, to fill a gap. */
  fetchRange: (room: string, after: number, before: number) => Promise<Message[]>
  /** The room is joined on the current connection: pending sends and streams may go. */
  ready: (room: string) => void
  /** The room is gone for this client (kicked, left, refused): fail what waits for it. */
  gone: (room: string, err: unknown) => void
  warn: (err: unknown) => void
}

/**
 * The rooms this client is in. Each is joined on every new connection with `since` = the last
 * seq delivered, and its messages go through a `RoomLog` (dedupe, order, gap refill) to the
 * `Room` handle the application holds.
 */
export class Rooms {
  readonly #host: RoomsHost
  readonly #entries = new Map<string, Entry>()

  constructor (host: RoomsHost) {
    this.#host = host
  }

  /** Joins `room`; resolves once it is joined on a live connection. */
  async join (room: string, since: number | undefined, deliver: boolean): Promise<Room> {
    let entry = this.#entries.get(room)
    if (entry === undefined) {
      entry = this.#create(room, since, deliver)
      this.#writeJoin(entry)
    } else if (deliver && !entry.delivering) {
      entry.delivering = true
      const last = entry.log.last
      if (since !== undefined && (last === undefined || since < last)) {
        // Joined so far only to send: the application now wants history from `since`.
        entry.log.close()
        entry.log = this.#newLog(entry, since)
        entry.joinedOn = 0
        this.#writeJoin(entry)
      }
    }
    if (this.ready(room)) return entry.handle
    const e = entry
    return await new Promise<Room>((resolve, reject) => {
      const timer = setTimeout(() => {
        e.waiters = e.waiters.filter((w) => w.resolve !== done)
        const err = new TimeoutError(`room ${room} was not joined within ${this.#host.requestTimeoutMs} ms`)
        reject(err)
        // Never joined and nobody else waiting: give the room up rather than rejoin it forever.
        if (e.joinedOn === 0 && e.waiters.length === 0 && this.#entries.get(room) === e) {
          this.#host.connection.write({ type: 'leave', room })
          this.#remove(e, err, { error: err })
        }
      }, this.#host.requestTimeoutMs)
      const done = (r: Room): void => { clearTimeout(timer); resolve(r) }
      e.waiters.push({ resolve: done, reject: (err) => { clearTimeout(timer); reject(err) } })
    })
  }

  ready (room: string): boolean {
    const entry = this.#entries.get(room)
    return entry !== undefined && this.#host.connection.isOpen && entry.joinedOn === this.#host.connection.number
  }

  lastSeq (room: string): number | undefined {
    return this.#entries.get(room)?.log.last
  }

  /** A new connection: join every room again, from where delivery stopped. */
  opened (): void {
    for (const entry of this.#entries.values()) this.#writeJoin(entry)
  }

  async leave (room: string): Promise<void> {
    const entry = this.#entries.get(room)
    if (entry === undefined) return
    this.#host.connection.write({ type: 'leave', room })
    this.#remove(entry, new ClosedError(`left room ${room}`), { left: true })
  }

  /** Routes a room frame; false when it is not one. */
  frame (frame: ServerFrame): boolean {
    switch (frame.type) {
      case 'message': {
        const { type: _type, ...message } = frame
        this.#entries.get(frame.room)?.log.message(message)
        return true
      }
      case 'stream.start':
      case 'stream.delta':
      case 'stream.end':
        this.#event(frame.room, 'stream', frame)
        return true
      case 'presence.join':
      case 'presence.leave':
      case 'presence.state':
        this.#event(frame.room, 'presence', frame as PresenceEvent)
        return true
      case 'kicked': {
        const entry = this.#entries.get(frame.room)
        if (entry !== undefined) this.#remove(entry, new KickedError(frame.room, frame.reason), { kicked: frame.reason })
        return true
      }
      default:
        return false
    }
  }

  /** Ends every room: normally (`close()`), or with the client's fatal error. */
  closeAll (err?: unknown): void {
    for (const entry of [...this.#entries.values()]) {
      this.#remove(entry, err ?? new ClosedError(), err === undefined ? { closed: true } : { error: err })
    }
  }

  #create (room: string, since: number | undefined, deliver: boolean): Entry {
    const entry: Entry = {
      id: room,
      handle: new Room(room, this.#host.roomHost, this.#host.maxBuffered),
      log: undefined as unknown as RoomLog,
      delivering: deliver,
      joinedOn: 0,
      joinFailures: 0,
      retryTimer: undefined,
      waiters: []
    }
    entry.log = this.#newLog(entry, since)
    this.#entries.set(room, entry)
    return entry
  }

  #newLog (entry: Entry, since: number | undefined): RoomLog {
    return new RoomLog(since, {
      deliver: (m) => { if (entry.delivering) entry.handle.deliver(m) },
      truncated: (range) => { if (entry.delivering) entry.handle.event('truncated', range) },
      fetchRange: async (after, before) => entry.delivering ? await this.#host.fetchRange(entry.id, after, before) : [],
      fillFailed: (err) => { this.#host.warn(err) }
    })
  }

  #writeJoin (entry: Entry): void {
    const conn = this.#host.connection
    if (!conn.isOpen) return
    const number = conn.number
    const since = entry.log.last
    const ref = this.#host.refs.add({
      reply: (frame) => { this.#onJoinReply(entry, number, frame) },
      lost: () => {}
    })
    entry.log.rejoining()
    conn.write(since === undefined ? { type: 'join', room: entry.id, ref } : { type: 'join', room: entry.id, since, ref })
  }

  #onJoinReply (entry: Entry, number: number, frame: ServerFrame): void {
    if (this.#entries.get(entry.id) !== entry || number !== this.#host.connection.number) return
    if (frame.type === 'joined') {
      entry.joinedOn = number
      entry.joinFailures = 0
      entry.log.joined(frame.seq, frame.truncated)
      const waiters = entry.waiters
      entry.waiters = []
      for (const w of waiters) w.resolve(entry.handle)
      this.#host.ready(entry.id)
      return
    }
    if (frame.type !== 'error') return
    if (RETRYABLE_CODES.has(frame.code) && ++entry.joinFailures <= 10) {
      const delay = frame.retryAfterMs ?? 100 + fullJitter(entry.joinFailures, { baseMs: 200, maxMs: 5000 })
      entry.retryTimer = setTimeout(() => {
        entry.retryTimer = undefined
        if (this.#entries.get(entry.id) === entry && this.#host.connection.number === number) this.#writeJoin(entry)
      }, delay)
      return
    }
    const err = new RequestError(frame.code, frame.message, { retryAfterMs: frame.retryAfterMs })
    this.#remove(entry, err, { error: err })
  }

  #event (room: string, name: 'stream' | 'presence', frame: StreamEvent | PresenceEvent): void {
    const entry = this.#entries.get(room)
    if (entry === undefined || !entry.delivering) return
    if (name === 'stream') entry.handle.event('stream', frame as StreamEvent)
    else entry.handle.event('presence', frame as PresenceEvent)
  }

  #remove (entry: Entry, err: unknown, how: Parameters<Room['end']>[0]): void {
    if (this.#entries.get(entry.id) !== entry) return
    this.#entries.delete(entry.id)
    if (entry.retryTimer !== undefined) clearTimeout(entry.retryTimer)
    entry.log.close()
    for (const w of entry.waiters) w.reject(err)
    entry.waiters = []
    entry.handle.end(how)
    this.#host.gone(entry.id, err)
  }
}
