import type { ErrorCode } from '@pan/protocol'

/**
 * Every error the SDK raises has a permanent `code`: the contract's error code (`forbidden`,
 * `not_found`, ...) when the server refused a request, `PAN_CLIENT_*` when the SDK itself gives
 * up. Test and branch on `code`, never on the message.
 */
export class PanError extends Error {
  readonly code: string

  constructor (code: string, message: string) {
    super(message)
    this.code = code
    this.name = new.target.name
  }
}

/**
 * The server refused one request (an `error` frame, or a REST error body). `code` is the
 * contract's code; `status` is set for REST; `retryAfterMs` when the server asked to wait.
 */
export class RequestError extends PanError {
  declare readonly code: ErrorCode
  readonly status: number | undefined
  readonly retryAfterMs: number | undefined

  constructor (code: ErrorCode, message: string, options: { status?: number | undefined, retryAfterMs?: number | undefined } = {}) {
    super(code, message)
    this.status = options.status
    this.retryAfterMs = options.retryAfterMs
  }
}

/** The token was refused (close 4001, or 4001 again after a fresh `getToken()`): the client stopped. */
export class UnauthorizedError extends PanError {
  constructor (message = 'the server refused the token (close 4001)') { super('PAN_CLIENT_UNAUTHORIZED', message) }
}

/** The user is banned network-wide (close 4003): the client stopped and will not reconnect. */
export class BannedError extends PanError {
  constructor (message = 'banned from this network (close 4003)') { super('PAN_CLIENT_BANNED', message) }
}

/** Close 4009 kept coming back: the user holds too many connections elsewhere. The client stopped. */
export class TooManyConnectionsError extends PanError {
  constructor (message: string) { super('PAN_CLIENT_TOO_MANY_CONNECTIONS', message) }
}

/** `send()` (or `stream()`) while the bounded queue of unacknowledged requests is full. */
export class QueueFullError extends PanError {
  constructor (limit: number) {
    super('PAN_CLIENT_QUEUE_FULL', `${limit} sends are waiting for an ack (the maxQueued option): wait for some to settle, or raise the limit`)
  }
}

/** The client was closed (by `close()` or a fatal error) before the request completed. */
export class ClosedError extends PanError {
  constructor (message = 'the client is closed') { super('PAN_CLIENT_CLOSED', message) }
}

/** A bounded wait ran out (first connect, a join, a presence query). */
export class TimeoutError extends PanError {
  constructor (message: string) { super('PAN_CLIENT_TIMEOUT', message) }
}

/** The room was left, or the server removed us from it (`kicked`: room ban, revoked membership, room closed). */
export class KickedError extends PanError {
  readonly room: string
  readonly reason: string

  constructor (room: string, reason: string) {
    super('PAN_CLIENT_KICKED', `removed from room ${room}: ${reason}`)
    this.room = room
    this.reason = reason
  }
}

/** A message iterator fell further behind than `maxBuffered` messages; it stops rather than skip any. */
export class BufferFullError extends PanError {
  constructor (room: string, limit: number) {
    super('PAN_CLIENT_BUFFER_FULL', `the message iterator of room ${room} fell ${limit} messages behind (the maxBuffered option)`)
  }
}

/** A REST request could not reach the server (connection refused, reset, DNS). */
export class NetworkError extends PanError {
  constructor (message: string) { super('PAN_CLIENT_NETWORK', message) }
}

/**
 * A stream's connection closed and the server stored what it had received as an `interrupted`
 * message under the stream's id before the SDK could resume it; `end()` rejects with this so the
 * loss is never silent. `seq` is the stored message's, `storedText` what it holds.
 */
export class StreamInterruptedError extends PanError {
  readonly room: string
  readonly id: string
  readonly seq: number
  readonly storedText: string

  constructor (room: string, id: string, seq: number, storedText: string) {
    super('PAN_CLIENT_STREAM_INTERRUPTED', `stream ${id} was stored as interrupted (seq ${seq}, ${storedText.length} characters) before it could be resumed`)
    this.room = room
    this.id = id
    this.seq = seq
    this.storedText = storedText
  }
}

/** Error codes after which a send or stream frame is written again later with the same id. */
export const RETRYABLE_CODES: ReadonlySet<string> = new Set(['rate_limited', 'unavailable', 'internal'])
