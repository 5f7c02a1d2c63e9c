import { randomBytes } from 'node:crypto'
import { EventEmitter } from 'node:events'
import WebSocket from 'ws'
import { CloseCode, type ServerFrame, type ServerFrameOf } from '@pan/protocol'
import { RoomLog } from './room-log.ts'
import { WaitAbort, waitUntil, withTimeout } from './wait.ts'

export type HelloFrame = ServerFrameOf<'hello'>
export type JoinedFrame = ServerFrameOf<'joined'>
export type AckFrame = ServerFrameOf<'ack'>
export type ErrorFrame = ServerFrameOf<'error'>
export type MessageFrame = ServerFrameOf<'message'>

export interface AgentOptions {
  /** `ws://` or `wss://…/v1/ws`. */
  url: string
  /** The JWT, or a function asked again at every (re)connect (for runs longer than a token lives). */
  token: string | (() => string)
  /** PEM CA for `wss://` (the cluster's `ca`). */
  ca?: string
  /** `header` (Authorization, default) or `query` (`?token=`, as browsers must). */
  tokenIn?: 'header' | 'query'
  /** Reconnect delay, uniformly drawn in [min, max] ms. Default [50, 500]. */
  backoffMs?: readonly [number, number]
  /** Bound on `connect()`, `join()` and the WebSocket handshake, ms. Default 10000. */
  timeoutMs?: number
  /** Prefix of the client message ids this agent makes. Default: random. */
  idPrefix?: string
}

interface PendingSend {
  room: string
  id: string
  text: string | undefined
  data: Record<string, unknown> | undefined
  /** Connection number this was last written on; re-written on each new connection. */
  sentOn: number | undefined
  writes: number
}

// Errors after which a send is tried again with the same id (idempotent on the server).
const RETRYABLE = new Set(['unavailable', 'rate_limited', 'internal'])
// Close codes after which reconnecting with the same token is pointless (docs/protocol.md §2).
const FINAL_CLOSES = new Set<number>([CloseCode.unauthorized, CloseCode.banned])

/**
 * A WebSocket client that survives anything the cluster does to it: it reconnects after every
 * close but 4001/4003 (jittered 50–500 ms), re-joins its rooms with `since` = the last seq it got,
 * and re-sends every unacknowledged message with the same id. Meanwhile it keeps score of what
 * the contract promises: duplicates, gaps, acks, errors. Events: `frame` (every server frame),
 * `hello`, `message`, `close` (code), `stopped` (final close code).
 */
export class Agent extends EventEmitter {
  /** Replica named by the latest `hello`. */
  replica: string | undefined
  hello: HelloFrame | undefined
  /** Hellos received: 1 after the first connect, +1 per reconnect. */
  connections = 0
  /** Every close code seen, in order. */
  readonly closeCodes: number[] = []
  /** Set when a 4001 or 4003 close ended the agent. */
  stoppedCode: number | undefined
  /** Calls of `send()`. */
  sent = 0
  /** Writes of an id already written (after a reconnect or a retryable error). */
  resent = 0
  /** Distinct ids acknowledged with a seq. */
  acked = 0
  /** Acks for one id with different seqs: breaks idempotent send. */
  ackMismatches = 0
  /** `error` frames received. */
  errors = 0
  /** Server frames that were not JSON. */
  badFrames = 0
  /** The last 100 error frames. */
  readonly errorFrames: ErrorFrame[] = []
  /** Sends refused for good (not retryable): id → error code. */
  readonly failed = new Map<string, string>()
  /** id → the ack's seq and ts. */
  readonly acks = new Map<string, { room: string, seq: number, ts: number | undefined }>()

  readonly #options: AgentOptions
  /** One log per room ever joined; kept after a leave or kick for the test to read. */
  readonly #rooms = new Map<string, RoomLog>()
  /** Rooms to (re)join on every connection. */
  readonly #wanted = new Set<string>()
  /** Rooms joined on the current connection. */
  readonly #joinedNow = new Set<string>()
  readonly #pending = new Map<string, PendingSend>()
  readonly #refs = new Map<string, string>()
  readonly #timers = new Set<NodeJS.Timeout>()
  readonly #prefix: string
  #ws: WebSocket | undefined
  /** Between a `hello` and the next close. */
  #live = false
  #connection = 0
  #ids = 0
  #refCount = 0
  #closing = false

  constructor (options: AgentOptions) {
    super()
    // Every pending join() listens for its `joined` frame: dozens at once are normal here.
    this.setMaxListeners(0)
    this.#options = options
    this.#prefix = options.idPrefix ?? randomBytes(4).toString('hex')
  }

  /** True between a `hello` and the next close. */
  get connected (): boolean { return this.#live }
  /** Sends not yet acknowledged (waiting, in flight, or waiting for a retry). */
  get pending (): number { return this.#pending.size }
  get duplicates (): number { return this.#sum((log) => log.duplicates) }
  get gaps (): number { return this.#sum((log) => log.gaps) }

  /** Opens the socket; resolves with the first `hello`. Later closes reconnect by themselves. */
  async connect (): Promise<HelloFrame> {
    if (this.#ws === undefined) this.#open()
    await this.waitFor(() => this.hello !== undefined, this.#timeout, 'hello')
    return this.hello as HelloFrame
  }

  /**
   * Joins `room` (again on every reconnect, with `since`); resolves with the `joined` frame of the
   * current connection. With `since`, messages after it are replayed; without, the log starts at
   * the room's current seq. Rejects on an error frame (e.g. `not_found`, `forbidden`).
   */
  async join (room: string, since?: number): Promise<JoinedFrame> {
    const log = this.#rooms.get(room)
    if (log === undefined) this.#rooms.set(room, new RoomLog(since))
    else if (since !== undefined) log.last = since
    this.#wanted.add(room)
    this.#joinedNow.delete(room)
    let onFrame: ((frame: ServerFrame) => void) | undefined
    const joined = new Promise<JoinedFrame>((resolve, reject) => {
      onFrame = (frame) => {
        if (frame.type === 'joined' && frame.room === room) resolve(frame)
        else if (frame.type === 'error' && !RETRYABLE.has(frame.code) && frame.ref !== undefined && this.#refs.get(frame.ref) === `join:${room}`) {
          reject(new Error(`join ${room}: ${frame.code}: ${frame.message}`))
        }
      }
      this.on('frame', onFrame)
    })
    if (this.connected) this.#sendJoin(room)
    try {
      return await withTimeout(joined, this.#timeout, `joined ${room}`)
    } finally {
      if (onFrame !== undefined) this.off('frame', onFrame)
    }
  }

  /** Leaves `room` (not re-joined on reconnects); its log stays readable. */
  leave (room: string): void {
    this.#wanted.delete(room)
    this.#joinedNow.delete(room)
    this.#failPending(room, 'left')
    this.#write({ type: 'leave', room })
  }

  /**
   * Queues a message and returns its client id; it is written once the room is joined on a live
   * connection, and re-written with the same id until acknowledged. See `waitForAck` / `settle`.
   */
  send (room: string, text?: string, data?: Record<string, unknown>, id = this.nextId()): string {
    if (!this.#wanted.has(room)) throw new Error(`send to ${room}, which this agent has not joined`)
    const pending: PendingSend = { room, id, text, data, sentOn: undefined, writes: 0 }
    this.#pending.set(id, pending)
    this.sent++
    if (this.connected && this.#joinedNow.has(room)) this.#writeSend(pending)
    return id
  }

  /** A fresh client message id: `<prefix>-<n>`. */
  nextId (): string {
    return `${this.#prefix}-${++this.#ids}`
  }

  /** Resolves with the ack of `id` (rejects if it failed for good). */
  async waitForAck (id: string, timeoutMs = this.#timeout): Promise<{ room: string, seq: number, ts: number | undefined }> {
    await this.waitFor(() => this.acks.has(id) || this.failed.has(id), timeoutMs, `ack of ${id}`)
    const failure = this.failed.get(id)
    if (failure !== undefined) throw new Error(`send ${id} failed: ${failure}`)
    return this.acks.get(id) as { room: string, seq: number, ts: number | undefined }
  }

  /** Resolves once nothing is pending (every send acked or failed for good). */
  async settle (timeoutMs = this.#timeout): Promise<void> {
    await this.waitFor(() => this.#pending.size === 0, timeoutMs, `${this.#pending.size} pending sends of ${this.#prefix}`)
  }

  /** Seqs received in `room`, in arrival order, without duplicates. */
  received (room: string): number[] {
    return [...(this.#rooms.get(room)?.seqs ?? [])]
  }

  /** The room's log: last seq, duplicates, gaps, truncated ranges. */
  log (room: string): RoomLog | undefined {
    return this.#rooms.get(room)
  }

  /** Polls `predicate` (every 20 ms) until true; rejects after `timeoutMs` naming `what`. */
  async waitFor (predicate: () => boolean, timeoutMs = this.#timeout, what = 'condition'): Promise<void> {
    await waitUntil(() => {
      if (predicate()) return true
      if (this.stoppedCode !== undefined) throw new WaitAbort(`agent stopped by close ${this.stoppedCode}`)
      return false
    }, { timeoutMs, intervalMs: 20, what })
  }

  /** Cuts the connection without a close handshake (like a network drop); the agent reconnects. */
  drop (): void {
    this.#ws?.terminate()
  }

  /** Closes for good (1000) and resolves once the socket is closed. */
  async close (): Promise<void> {
    this.#closing = true
    for (const timer of this.#timers) clearTimeout(timer)
    this.#timers.clear()
    const ws = this.#ws
    if (ws === undefined || ws.readyState === WebSocket.CLOSED) return
    const closed = new Promise<void>((resolve) => ws.once('close', () => resolve()))
    ws.close(CloseCode.normal)
    const timer = setTimeout(() => ws.terminate(), 5000)
    await closed
    clearTimeout(timer)
  }

  get #timeout (): number { return this.#options.timeoutMs ?? 10_000 }

  #open (): void {
    const token = typeof this.#options.token === 'function' ? this.#options.token() : this.#options.token
    const url = new URL(this.#options.url)
    const headers: Record<string, string> = {}
    if (this.#options.tokenIn === 'query') url.searchParams.set('token', token)
    else headers.authorization = `Bearer ${token}`
    const ws = new WebSocket(url, {
      headers,
      handshakeTimeout: this.#timeout,
      ...(this.#options.ca === undefined ? {} : { ca: this.#options.ca })
    })
    this.#ws = ws
    this.#joinedNow.clear()
    // A refused handshake reports here and then closes (1006): the close handler reconnects.
    ws.on('error', () => {})
    ws.on('message', (data, isBinary) => {
      if (ws !== this.#ws || isBinary) return
      let frame: ServerFrame
      try {
        // Text frames arrive as one Buffer (the default binaryType, 'nodebuffer').
        frame = JSON.parse((data as Buffer).toString('utf8')) as ServerFrame
      } catch {
        this.badFrames++
        return
      }
      this.#onFrame(frame)
    })
    ws.on('close', (code) => { if (ws === this.#ws) this.#onClose(code) })
  }

  #onClose (code: number): void {
    this.#live = false
    this.closeCodes.push(code)
    this.#joinedNow.clear()
    this.#refs.clear() // no reply of that connection can come any more
    this.emit('close', code)
    if (this.#closing) return
    if (FINAL_CLOSES.has(code)) {
      this.stoppedCode = code
      this.emit('stopped', code)
      return
    }
    const [min, max] = this.#options.backoffMs ?? [50, 500]
    this.#later(min + Math.random() * (max - min), () => this.#open())
  }

  #onFrame (frame: ServerFrame): void {
    switch (frame.type) {
      case 'hello':
        this.hello = frame
        this.replica = frame.server.replica
        this.#connection = ++this.connections
        this.#live = true
        for (const room of this.#wanted) this.#sendJoin(room)
        this.emit('hello', frame)
        break
      case 'joined':
        if (!this.#wanted.has(frame.room)) break
        this.#rooms.get(frame.room)?.joined(frame.seq, frame.truncated)
        this.#joinedNow.add(frame.room)
        this.#flush(frame.room)
        break
      case 'message':
        this.#rooms.get(frame.room)?.message(frame.seq)
        this.emit('message', frame)
        break
      case 'ack':
        this.#onAck(frame)
        break
      case 'kicked':
        this.#wanted.delete(frame.room)
        this.#joinedNow.delete(frame.room)
        this.#failPending(frame.room, 'kicked')
        break
      case 'error':
        this.#onError(frame)
        break
    }
    this.emit('frame', frame)
    // After the emit: join() matches its error frame by ref.
    if ('ref' in frame && frame.ref !== undefined) this.#refs.delete(frame.ref)
  }

  #onAck (frame: AckFrame): void {
    if (frame.seq === undefined) return // stream.start acks carry no seq
    this.#pending.delete(frame.id)
    const previous = this.acks.get(frame.id)
    if (previous !== undefined) {
      if (previous.seq !== frame.seq) this.ackMismatches++
      return
    }
    this.acks.set(frame.id, { room: frame.room, seq: frame.seq, ts: frame.ts })
    this.acked++
  }

  #onError (frame: ErrorFrame): void {
    this.errors++
    this.errorFrames.push(frame)
    if (this.errorFrames.length > 100) this.errorFrames.shift()
    const subject = frame.ref === undefined ? undefined : this.#refs.get(frame.ref)
    if (subject?.startsWith('join:') === true) {
      const room = subject.slice('join:'.length)
      if (RETRYABLE.has(frame.code)) this.#later(frame.retryAfterMs ?? 100, () => { if (this.connected && this.#wanted.has(room)) this.#sendJoin(room) })
      else {
        this.#wanted.delete(room)
        this.#failPending(room, frame.code)
      }
      return
    }
    if (subject === undefined || !subject.startsWith('send:')) return
    const pending = this.#pending.get(subject.slice('send:'.length))
    if (pending === undefined) return
    if (RETRYABLE.has(frame.code)) {
      pending.sentOn = undefined
      this.#later(frame.retryAfterMs ?? 100, () => this.#flush(pending.room))
    } else {
      this.#pending.delete(pending.id)
      this.failed.set(pending.id, frame.code)
    }
  }

  /** Gives up on the room's pending sends: they can no longer be written. */
  #failPending (room: string, reason: string): void {
    for (const pending of this.#pending.values()) {
      if (pending.room !== room) continue
      this.#pending.delete(pending.id)
      this.failed.set(pending.id, reason)
    }
  }

  #sendJoin (room: string): void {
    const since = this.#rooms.get(room)?.last
    this.#write({ type: 'join', room, ref: this.#ref(`join:${room}`), ...(since === undefined ? {} : { since }) })
  }

  /** Writes the room's pending sends not yet written on this connection, once the room is joined on it. */
  #flush (room: string): void {
    if (!this.connected || !this.#joinedNow.has(room)) return
    for (const pending of this.#pending.values()) {
      if (pending.room === room && pending.sentOn !== this.#connection) this.#writeSend(pending)
    }
  }

  #writeSend (pending: PendingSend): void {
    if (pending.writes > 0) this.resent++
    pending.writes++
    pending.sentOn = this.#connection
    this.#write({
      type: 'send',
      room: pending.room,
      id: pending.id,
      ref: this.#ref(`send:${pending.id}`),
      ...(pending.text === undefined ? {} : { text: pending.text }),
      ...(pending.data === undefined ? {} : { data: pending.data })
    })
  }

  #ref (subject: string): string {
    const ref = `r${++this.#refCount}`
    this.#refs.set(ref, subject)
    return ref
  }

  #write (frame: Record<string, unknown>): void {
    const ws = this.#ws
    if (ws?.readyState === WebSocket.OPEN) ws.send(JSON.stringify(frame))
  }

  #later (ms: number, fn: () => void): void {
    const timer = setTimeout(() => {
      this.#timers.delete(timer)
      if (!this.#closing) fn()
    }, ms)
    this.#timers.add(timer)
  }

  #sum (pick: (log: RoomLog) => number): number {
    let total = 0
    for (const log of this.#rooms.values()) total += pick(log)
    return total
  }
}
