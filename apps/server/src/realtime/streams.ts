import type { RoomRow } from '@pan/db'
import { PanError } from '../errors.ts'
import type { Logger } from '../logger.ts'
import type { MessageService, PostResult } from '../services/messages.ts'
import type { Connection } from './connection.ts'
import type { Hub } from './hub.ts'

interface OpenStream {
  id: string
  room: RoomRow
  conn: Connection
  from: { id: string, name: string }
  text: string
  idleTimer: NodeJS.Timeout
  ending: boolean
}

export type StreamAck = { type: 'ack', room: string, id: string, seq?: number, ts?: number }

/**
 * Streamed messages (LLM tokens): deltas go live to members and are not stored; the end stores
 * the whole text as one message. A stream whose connection closes, or that stays silent past
 * `idleMs`, is stored as `interrupted` with the text so far.
 */
export class Streams {
  readonly #hub: Hub
  readonly #messages: MessageService
  readonly #log: Logger
  readonly #idleMs: number
  readonly #byRoom = new Map<string, Map<string, OpenStream>>()

  constructor (deps: { hub: Hub, messages: MessageService, log: Logger, idleMs: number }) {
    this.#hub = deps.hub
    this.#messages = deps.messages
    this.#log = deps.log
    this.#idleMs = deps.idleMs
  }

  #key (conn: Connection, id: string): string { return `${conn.id}\u0000${id}` }

  async start (conn: Connection, room: RoomRow, id: string): Promise<StreamAck> {
    const open = conn.streams.get(id)
    if (open !== undefined) return { type: 'ack', room: open.room, id }
    // The id of a stored message (a finished, or interrupted and stored, stream): answer its ack,
    // with its seq, as a re-sent `send` is; opening it again would announce a message that exists.
    if (conn.principal !== undefined) {
      const stored = await this.#messages.find(conn.principal, room, id)
      if (stored !== undefined) return { type: 'ack', room: stored.room, id, seq: stored.seq, ts: stored.ts }
    }
    const from = { id: conn.principal?.id ?? '', name: conn.name }
    const stream: OpenStream = { id, room, conn, from, text: '', ending: false, idleTimer: this.#idleTimer(conn, id) }
    conn.streams.set(id, { room: room.id })
    let inRoom = this.#byRoom.get(room.id)
    if (inRoom === undefined) {
      inRoom = new Map()
      this.#byRoom.set(room.id, inRoom)
    }
    inRoom.set(this.#key(conn, id), stream)
    await this.#hub.publishEvent(room.id, { type: 'stream.start', room: room.id, id, from }, conn.id)
    return { type: 'ack', room: room.id, id }
  }

  #idleTimer (conn: Connection, id: string): NodeJS.Timeout {
    return setTimeout(() => {
      this.interrupt(conn, id).catch((err: unknown) => { this.#log.error({ err }, 'storing an idle stream failed') })
    }, this.#idleMs).unref()
  }

  /** The open stream `id` of this connection, unless it is already being stored. */
  #lookup (conn: Connection, id: string): OpenStream | undefined {
    const ref = conn.streams.get(id)
    const stream = ref === undefined ? undefined : this.#byRoom.get(ref.room)?.get(this.#key(conn, id))
    return stream === undefined || stream.ending ? undefined : stream
  }

  #find (conn: Connection, id: string): OpenStream {
    const stream = this.#lookup(conn, id)
    if (stream === undefined) throw new PanError('PAN_ERR_STREAM_NOT_FOUND', `no open stream ${id}`)
    return stream
  }

  async delta (conn: Connection, id: string, text: string): Promise<void> {
    const stream = this.#find(conn, id)
    stream.text += text
    stream.idleTimer.refresh()
    await this.#hub.publishEvent(stream.room.id, { type: 'stream.delta', room: stream.room.id, id, from: stream.from, text }, conn.id)
  }

  async end (conn: Connection, id: string, text: string | undefined, data: Record<string, unknown> | undefined): Promise<StreamAck> {
    const finished = conn.finishedStreams.get(id)
    if (finished !== undefined && !conn.streams.has(id)) return finished
    const stream = this.#find(conn, id)
    const input = { id, text: text ?? stream.text, data }
    this.#messages.assertPayload(stream.room, input, true)
    const result = await this.#finish(stream, 'complete', input)
    const ack: StreamAck = { type: 'ack', room: result.room, id, seq: result.seq, ts: result.ts }
    conn.rememberFinishedStream(id, ack)
    return ack
  }

  async abort (conn: Connection, id: string): Promise<void> {
    const stream = this.#find(conn, id)
    this.#forget(stream)
    await this.#hub.publishEvent(stream.room.id, { type: 'stream.end', room: stream.room.id, id, from: stream.from, status: 'aborted' }, conn.id)
  }

  /** Stores an open stream as interrupted (sender gone or silent). */
  async interrupt (conn: Connection, id: string): Promise<void> {
    const stream = this.#lookup(conn, id)
    if (stream === undefined) return
    await this.#finish(stream, 'interrupted', { id, text: stream.text })
  }

  async interruptAll (conn: Connection): Promise<void> {
    await Promise.all([...conn.streams.keys()].map(async (id) => { await this.interrupt(conn, id) }))
  }

  async #finish (stream: OpenStream, status: 'complete' | 'interrupted', input: { id: string, text: string, data?: Record<string, unknown> | undefined }): Promise<PostResult> {
    stream.ending = true
    clearTimeout(stream.idleTimer)
    const principal = stream.conn.principal
    if (principal === undefined) throw new Error('stream without a principal')
    try {
      const result = await this.#messages.store(principal, stream.from.name, stream.room, input, status)
      await this.#hub.publishEvent(stream.room.id, { type: 'stream.end', room: stream.room.id, id: stream.id, from: stream.from, status, seq: result.seq }, stream.conn.id)
      return result
    } finally {
      this.#forget(stream)
    }
  }

  #forget (stream: OpenStream): void {
    clearTimeout(stream.idleTimer)
    stream.conn.streams.delete(stream.id)
    const inRoom = this.#byRoom.get(stream.room.id)
    inRoom?.delete(this.#key(stream.conn, stream.id))
    if (inRoom?.size === 0) this.#byRoom.delete(stream.room.id)
  }

  /** `stream.start` frames (with the text so far) for a member joining mid-stream. */
  snapshots (roomId: string, exceptConnectionId: string): object[] {
    const inRoom = this.#byRoom.get(roomId)
    if (inRoom === undefined) return []
    return [...inRoom.values()]
      .filter((s) => !s.ending && s.conn.id !== exceptConnectionId)
      .map((s) => ({ type: 'stream.start', room: roomId, id: s.id, from: s.from, text: s.text }))
  }
}
