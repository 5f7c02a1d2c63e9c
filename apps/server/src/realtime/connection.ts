import type { Writable } from 'node:stream'
import type { WebSocket } from 'ws'
import { CloseCode } from '@pan/protocol'
import type { Principal } from '../auth.ts'
import { prepareFrame, type OutFrame } from './frame.ts'
import type { StreamAck } from './streams.ts'

/** A member's delivery state in one room on one connection. */
export interface Membership {
  /** Highest seq written to this socket for the room: live delivery skips anything at or below. */
  lastSeq: number
  /** While replaying history, live messages wait in `pending` and are flushed after the replay. */
  replaying: boolean
  /** Created only when a live message arrives during a replay. */
  pending: Array<{ seq: number, frame: OutFrame }> | undefined
  /** Whether this connection counts in presence (viewers do not). */
  inPresence: boolean
}

/**
 * A connection's rooms by id. Nearly every connection is in one room: that one is held in two
 * fields, and a Map (about 250 bytes with its table) is made only for a second room.
 * Iteration follows join order, as a Map's does.
 */
export class Rooms implements Iterable<[string, Membership]> {
  #id: string | undefined
  #membership: Membership | undefined
  #more: Map<string, Membership> | undefined

  get size (): number {
    if (this.#more !== undefined) return this.#more.size
    return this.#id === undefined ? 0 : 1
  }

  get (id: string): Membership | undefined {
    if (this.#more !== undefined) return this.#more.get(id)
    return this.#id === id ? this.#membership : undefined
  }

  has (id: string): boolean {
    return this.get(id) !== undefined
  }

  set (id: string, membership: Membership): void {
    if (this.#more !== undefined) {
      this.#more.set(id, membership)
    } else if (this.#id === undefined || this.#id === id) {
      this.#id = id
      this.#membership = membership
    } else {
      this.#more = new Map([[this.#id, this.#membership as Membership], [id, membership]])
      this.#id = undefined
      this.#membership = undefined
    }
  }

  delete (id: string): boolean {
    if (this.#more !== undefined) return this.#more.delete(id)
    if (this.#id !== id) return false
    this.#id = undefined
    this.#membership = undefined
    return true
  }

  keys (): string[] {
    if (this.#more !== undefined) return [...this.#more.keys()]
    return this.#id === undefined ? [] : [this.#id]
  }

  * [Symbol.iterator] (): Iterator<[string, Membership]> {
    if (this.#more !== undefined) {
      yield * this.#more
    } else if (this.#id !== undefined) {
      yield [this.#id, this.#membership as Membership]
    }
  }
}

export interface ConnectionOptions {
  /** Bytes queued on the socket beyond which it is cut as a slow consumer. */
  outboundCapBytes: number
  onSlowConsumer: (conn: Connection) => void
  /** Counts a frame built for this socket alone (replies, hello); fanned-out frames are counted by the hub. */
  onSend?: (type: string) => void
}

/** The parts of ws's WebSocket that the pre-framed write path uses; not in @types/ws. */
interface WebSocketInternals {
  /** The TCP socket; set once the upgrade completed, which it has when the gateway sees the socket. */
  _socket: Writable | null
}

/**
 * Write coalescing. The first frame for a socket in an event-loop turn corks the TCP socket, and
 * everything queued in that turn goes out in one write when `flushCorked` runs (one setImmediate
 * later). A connect sends several frames in one turn (welcome, joined, presence), a busy room
 * several messages: one syscall each instead of one per frame. Frames keep their order: they all
 * go through the same stream.
 */
let flushScheduled = false
let corked: Connection[] = []

function flushCorked (): void {
  flushScheduled = false
  const list = corked
  corked = []
  for (const conn of list) conn.uncork()
}

/**
 * How long a deferred frame (presence) may wait for company, ms. In a reconnect storm every join
 * sends `presence.join` to each member of the room: written at once, that is one syscall per
 * member per join; held this long, a member gets a burst of joins in one write. Anything else
 * written to the socket meanwhile releases it sooner, so a connection's frames keep their order.
 */
export const DEFERRED_FLUSH_MS = 20

let deferredScheduled = false
let deferred: Connection[] = []

function flushDeferred (): void {
  deferredScheduled = false
  const list = deferred
  deferred = []
  for (const conn of list) conn.uncork()
}

/**
 * One WebSocket and the state the gateway keeps for it. Frames are serialised and framed once by
 * the producer (`OutFrame`); `writeFrame` guards the socket's buffer so one stalled reader
 * cannot grow memory. Rarely used state (streams) is created on first use: an idle joined
 * connection should cost little more than its socket.
 */
export class Connection {
  readonly id: string
  readonly socket: WebSocket
  principal: Principal | undefined
  /** Display name used in `from` and presence. */
  name = ''
  /** The agent state this connection last declared. */
  state = 'idle'
  readonly rooms = new Rooms()
  missedPongs = 0
  rateLimitedStrikes = 0
  strikeWindowStartedAt = 0
  closed = false
  readonly #options: ConnectionOptions
  /** The TCP socket when frames may be written to it pre-framed (no permessage-deflate), else null. */
  readonly #out: Writable | null
  #corked = false
  /** Queued for the next `flushCorked`. */
  #flushSoon = false
  /** Queued for the next `flushDeferred` (a connection released sooner may still be listed there). */
  #flushLater = false
  /** Bytes written while corked (this turn, or since a deferred frame). */
  #corkedBytes = 0
  #streams: Map<string, { room: string }> | undefined
  #finishedStreams: Map<string, StreamAck> | undefined

  constructor (id: string, socket: WebSocket, options: ConnectionOptions) {
    this.id = id
    this.socket = socket
    this.#options = options
    this.#out = socket.extensions === '' ? (socket as unknown as WebSocketInternals)._socket : null
  }

  /** Open streams started on this connection, by stream id. */
  get streams (): Map<string, { room: string }> {
    this.#streams ??= new Map()
    return this.#streams
  }

  /** Acks of streams finished on this connection, so a repeated `stream.end` answers the same. */
  get finishedStreams (): Map<string, StreamAck> {
    this.#finishedStreams ??= new Map()
    return this.#finishedStreams
  }

  /** Writes a serialised frame meant for this socket alone. */
  write (text: string): void {
    if (!this.#writable()) return
    if (this.#out === null) this.socket.send(text)
    else this.#put(this.#out, prepareFrame(text).wire)
  }

  /** Writes a frame shared with other sockets, or cuts the connection if its outbound buffer is over the cap. */
  writeFrame (frame: OutFrame): void {
    if (!this.#writable()) return
    if (this.#out === null) this.socket.send(frame.text)
    else this.#put(this.#out, frame.wire)
  }

  /** Writes a shared frame that may wait up to `DEFERRED_FLUSH_MS` for others to this socket. */
  writeFrameDeferred (frame: OutFrame): void {
    if (!this.#writable()) return
    if (this.#out === null) this.socket.send(frame.text)
    else this.#put(this.#out, frame.wire, false)
  }

  /** Writes consecutive frames; `wire` is all of them joined, written at once when it can be. */
  writeFrames (frames: readonly OutFrame[], wire: Buffer): void {
    if (!this.#writable()) return
    if (this.#out === null) {
      for (const frame of frames) this.socket.send(frame.text)
    } else {
      this.#put(this.#out, wire)
    }
  }

  send (frame: object): void {
    const type = (frame as { type?: unknown }).type
    this.#options.onSend?.(typeof type === 'string' ? type : 'unknown')
    this.write(JSON.stringify(frame))
  }

  /** False when the socket is gone or over its cap (then it is cut as a slow consumer). */
  #writable (): boolean {
    if (this.closed || this.socket.readyState !== 1) return false
    // What is still corked is not a backlog yet: a burst written in one turn (a commit's worth of
    // messages) must not cut a reader that keeps up. The cap applies to what earlier flushes left.
    if (this.socket.bufferedAmount - this.#corkedBytes > this.#options.outboundCapBytes) {
      this.#options.onSlowConsumer(this)
      return false
    }
    return true
  }

  #put (out: Writable, wire: Buffer, soon = true): void {
    if (!this.#corked) {
      this.#corked = true
      out.cork()
    }
    if (soon && !this.#flushSoon) {
      this.#flushSoon = true
      corked.push(this)
      if (!flushScheduled) {
        flushScheduled = true
        setImmediate(flushCorked)
      }
    } else if (!soon && !this.#flushLater) {
      this.#flushLater = true
      deferred.push(this)
      if (!deferredScheduled) {
        deferredScheduled = true
        setTimeout(flushDeferred, DEFERRED_FLUSH_MS)
      }
    }
    this.#corkedBytes += wire.length
    out.write(wire)
  }

  /** Releases the frames corked so far (called by the coalescers). */
  uncork (): void {
    if (!this.#corked) return
    this.#corked = false
    this.#flushSoon = false
    this.#flushLater = false
    this.#corkedBytes = 0
    this.#out?.uncork()
  }

  /** Closes with a code; a socket that does not complete the close handshake is terminated. */
  close (code: number, reason: string): void {
    if (this.closed) return
    this.closed = true
    try {
      this.socket.close(code, reason)
    } catch {
      this.socket.terminate()
      return
    }
    setTimeout(() => { this.socket.terminate() }, 2000).unref()
  }

  /** For a stalled reader: the close frame would sit behind the backlog, so drop the socket now. */
  cut (): void {
    if (this.closed) return
    this.closed = true
    this.socket.close(CloseCode.serviceRestart, 'slow consumer')
    this.socket.terminate()
  }

  rememberFinishedStream (id: string, ack: StreamAck): void {
    const finished = this.finishedStreams
    finished.set(id, ack)
    if (finished.size > 1000) {
      const oldest = finished.keys().next().value
      if (oldest !== undefined) finished.delete(oldest)
    }
  }
}
