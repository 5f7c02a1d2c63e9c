import { CloseCode, parseClientFrame, type ClientFrame, type ClientFrameOf } from '@pan/protocol'
import type { Bus } from '@pan/bus'
import { PanError, isPanError } from '../errors.ts'
import type { Logger } from '../logger.ts'
import type { Metrics } from '../metrics.ts'
import type { Access } from '../services/access.ts'
import type { SendLimits } from '../services/limits.ts'
import type { MessageService } from '../services/messages.ts'
import { assertStorable } from '../storable.ts'
import type { Connection } from './connection.ts'
import type { Hub } from './hub.ts'
import type { Streams } from './streams.ts'

export interface DispatchDeps {
  hub: Hub
  streams: Streams
  access: Access
  messages: MessageService
  limits: SendLimits
  bus: Bus
  log: Logger
  metrics: Metrics
}

/** Rate-limited frames within this window beyond which the connection is closed 4008. */
const STRIKE_WINDOW_MS = 10_000
const MAX_STRIKES = 200

/**
 * Frame handling for one connection. Frames are handled one after another, in arrival order, up
 * to the point where a send is handed to the batcher: so a connection's sends are committed in
 * the order it sent them, while commits (and acks) still pipeline.
 */
export class Dispatcher {
  readonly #deps: DispatchDeps

  constructor (deps: DispatchDeps) {
    this.#deps = deps
  }

  /** Parses and handles one text frame. Never rejects: every failure becomes an error frame. */
  async handle (conn: Connection, raw: string): Promise<void> {
    const parsed = parseClientFrame(raw)
    if (!parsed.ok) {
      this.#deps.metrics.framesIn.inc({ type: 'invalid' })
      conn.send(errorFrame('bad_request', parsed.message, parsed.ref))
      return
    }
    const frame = parsed.frame
    this.#deps.metrics.framesIn.inc({ type: frame.type })
    try {
      await this.#route(conn, frame)
    } catch (err) {
      this.#fail(conn, frame, err)
    }
  }

  #fail (conn: Connection, frame: ClientFrame, err: unknown): void {
    if (isPanError(err)) {
      conn.send(errorFrame(err.code, err.message, frame.ref, err.retryAfterMs))
      if (err.code === 'rate_limited') this.#strike(conn)
      return
    }
    this.#deps.log.error({ err, frameType: frame.type, connectionId: conn.id }, 'frame handling failed')
    conn.send(errorFrame('internal', 'internal error', frame.ref))
  }

  /** Sustained abuse of limits closes the connection with 4008. */
  #strike (conn: Connection): void {
    const now = Date.now()
    if (now - conn.strikeWindowStartedAt > STRIKE_WINDOW_MS) {
      conn.strikeWindowStartedAt = now
      conn.rateLimitedStrikes = 0
    }
    conn.rateLimitedStrikes += 1
    this.#deps.metrics.rateLimited.inc({ kind: 'ws' })
    if (conn.rateLimitedStrikes > MAX_STRIKES) conn.close(CloseCode.policy, 'sustained abuse of rate limits')
  }

  async #route (conn: Connection, frame: ClientFrame): Promise<void> {
    switch (frame.type) {
      case 'join': return await this.#join(conn, frame)
      case 'leave': return await this.#leave(conn, frame)
      case 'send': return await this.#send(conn, frame)
      case 'stream.start': return await this.#streamStart(conn, frame)
      case 'stream.delta': return await this.#streamDelta(conn, frame)
      case 'stream.end': return await this.#streamEnd(conn, frame)
      case 'stream.abort': return await this.#deps.streams.abort(conn, frame.id)
      case 'state': return await this.#state(conn, frame)
      case 'presence': return await this.#presence(conn, frame)
      case 'ping': return conn.send(withRef({ type: 'pong', ts: Date.now() }, frame.ref))
    }
  }

  #principal (conn: Connection): NonNullable<Connection['principal']> {
    if (conn.principal === undefined) throw new PanError('PAN_ERR_UNAUTHORIZED', 'not authenticated')
    return conn.principal
  }

  async #join (conn: Connection, frame: ClientFrameOf<'join'>): Promise<void> {
    const room = await this.#deps.access.assertMayJoin(this.#principal(conn), frame.room)
    await this.#deps.hub.join(conn, room, frame.since, (result) => {
      conn.send(withRef({ type: 'joined', room: room.id, seq: result.seq, ...(result.truncated === undefined ? {} : { truncated: result.truncated }) }, frame.ref))
    })
    for (const snapshot of this.#deps.streams.snapshots(room.id, conn.id)) conn.send(snapshot)
  }

  async #leave (conn: Connection, frame: ClientFrameOf<'leave'>): Promise<void> {
    await this.#deps.hub.leave(conn, frame.room)
    conn.send(withRef({ type: 'left', room: frame.room }, frame.ref))
  }

  /** The room for a send or stream: it must be open, joined on this connection, and the sender may not be a viewer. */
  async #joinedRoomForSending (conn: Connection, roomId: string): Promise<Awaited<ReturnType<Access['room']>>> {
    const p = this.#principal(conn)
    const room = await this.#deps.access.room(roomId)
    if (room.closedAt !== null) throw new PanError('PAN_ERR_ROOM_NOT_FOUND', `room ${roomId} is closed`)
    if (p.role === 'viewer') throw new PanError('PAN_ERR_VIEWER_READ_ONLY', 'viewers cannot send')
    if (!conn.rooms.has(roomId)) throw new PanError('PAN_ERR_NOT_JOINED', `join room ${roomId} before sending`)
    return room
  }

  async #send (conn: Connection, frame: ClientFrameOf<'send'>): Promise<void> {
    const room = await this.#joinedRoomForSending(conn, frame.room)
    const p = this.#principal(conn)
    const known = await this.#deps.messages.admit(p, room, frame)
    if (known !== null) {
      conn.send(withRef({ type: 'ack', room: known.room, id: known.id, seq: known.seq, ts: known.ts }, frame.ref))
      return
    }
    // Not awaited: the next frame may be handled while this one commits (group commit).
    this.#deps.messages.store(p, conn.name, room, frame).then(
      (r) => { conn.send(withRef({ type: 'ack', room: r.room, id: r.id, seq: r.seq, ts: r.ts }, frame.ref)) },
      (err: unknown) => { this.#fail(conn, frame, err) }
    )
  }

  async #streamStart (conn: Connection, frame: ClientFrameOf<'stream.start'>): Promise<void> {
    const room = await this.#joinedRoomForSending(conn, frame.room)
    await this.#deps.limits.takeSend(this.#principal(conn).id, room)
    conn.send(withRef(await this.#deps.streams.start(conn, room, frame.id), frame.ref))
  }

  async #streamDelta (conn: Connection, frame: ClientFrameOf<'stream.delta'>): Promise<void> {
    if (!conn.streams.has(frame.id)) throw new PanError('PAN_ERR_STREAM_NOT_FOUND', `no open stream ${frame.id}`)
    assertStorable({ text: frame.text })
    await this.#deps.limits.takeDelta(this.#principal(conn).id)
    await this.#deps.streams.delta(conn, frame.id, frame.text)
  }

  async #streamEnd (conn: Connection, frame: ClientFrameOf<'stream.end'>): Promise<void> {
    conn.send(withRef(await this.#deps.streams.end(conn, frame.id, frame.text, frame.data), frame.ref))
  }

  async #state (conn: Connection, frame: ClientFrameOf<'state'>): Promise<void> {
    const p = this.#principal(conn)
    conn.state = frame.state
    await this.#deps.bus.presence.setState(p.id, frame.state)
    for (const [roomId, membership] of conn.rooms) {
      if (!membership.inPresence) continue
      await this.#deps.hub.publishEvent(roomId, { type: 'presence.state', room: roomId, user: { id: p.id, name: conn.name, state: frame.state } }, conn.id)
    }
  }

  async #presence (conn: Connection, frame: ClientFrameOf<'presence'>): Promise<void> {
    await this.#deps.access.assertMayRead(this.#principal(conn), frame.room)
    const members = await this.#deps.bus.presence.list(frame.room)
    conn.send(withRef({
      type: 'presence',
      room: frame.room,
      members: members.map((m) => ({ id: m.userId, name: m.name, since: m.since, state: m.state }))
    }, frame.ref))
  }
}

export function errorFrame (code: string, message: string, ref?: string, retryAfterMs?: number): object {
  const frame: Record<string, unknown> = { type: 'error', code, message }
  if (ref !== undefined) frame.ref = ref
  if (retryAfterMs !== undefined) frame.retryAfterMs = retryAfterMs
  return frame
}

function withRef<T extends object> (frame: T, ref: string | undefined): T {
  return ref === undefined ? frame : { ...frame, ref }
}
