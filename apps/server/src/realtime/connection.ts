import type { WebSocket } from 'ws'
import { CloseCode } from '@pan/protocol'
import type { Principal } from '../auth.ts'
import type { StreamAck } from './streams.ts'

/** A member's delivery state in one room on one connection. */
export interface Membership {
  /** Highest seq written to this socket for the room: live delivery skips anything at or below. */
  lastSeq: number
  /** While replaying history, live messages wait here and are flushed after the replay. */
  replaying: boolean
  pending: Array<{ seq: number, frame: string }>
  /** Whether this connection counts in presence (viewers do not). */
  inPresence: boolean
}

export interface ConnectionOptions {
  /** Bytes queued on the socket beyond which it is cut as a slow consumer. */
  outboundCapBytes: number
  onSlowConsumer: (conn: Connection) => void
  /** Counts a frame built for this socket alone (replies, hello); fanned-out frames are counted by the hub. */
  onSend?: (type: string) => void
}

/**
 * One WebSocket and the state the gateway keeps for it. Frames are strings serialised once by
 * the producer; `write` guards the socket's buffer so one stalled reader cannot grow memory.
 */
export class Connection {
  readonly id: string
  readonly socket: WebSocket
  principal: Principal | undefined
  /** Display name used in `from` and presence. */
  name = ''
  /** The agent state this connection last declared. */
  state = 'idle'
  readonly rooms = new Map<string, Membership>()
  /** Open streams started on this connection, by stream id. */
  readonly streams = new Map<string, { room: string }>()
  /** Acks of streams finished on this connection, so a repeated `stream.end` answers the same. */
  readonly finishedStreams = new Map<string, StreamAck>()
  missedPongs = 0
  rateLimitedStrikes = 0
  strikeWindowStartedAt = 0
  closed = false
  readonly #options: ConnectionOptions

  constructor (id: string, socket: WebSocket, options: ConnectionOptions) {
    this.id = id
    this.socket = socket
    this.#options = options
  }

  /** Writes a serialised frame, or cuts the connection if its outbound buffer is over the cap. */
  write (frame: string): void {
    if (this.closed || this.socket.readyState !== 1) return
    if (this.socket.bufferedAmount > this.#options.outboundCapBytes) {
      this.#options.onSlowConsumer(this)
      return
    }
    this.socket.send(frame)
  }

  send (frame: object): void {
    const type = (frame as { type?: unknown }).type
    this.#options.onSend?.(typeof type === 'string' ? type : 'unknown')
    this.write(JSON.stringify(frame))
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
    this.finishedStreams.set(id, ack)
    if (this.finishedStreams.size > 1000) {
      const oldest = this.finishedStreams.keys().next().value
      if (oldest !== undefined) this.finishedStreams.delete(oldest)
    }
  }
}
