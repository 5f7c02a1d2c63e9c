import type { ServerFrame, ServerFrameOf } from '@pan/protocol'
import { CloseCode } from './codes.ts'
import { Emitter } from './emitter.ts'
import type { ClosePolicy } from './close-policy.ts'
import type { PanError } from './errors.ts'
import { utf8Length, type SocketFactory, type SocketLike } from './socket.ts'

export type HelloFrame = ServerFrameOf<'hello'>

export interface ConnectionEvents {
  /** A connection said `hello`: it is usable. */
  open: HelloFrame
  /** Every server frame after `hello`. */
  frame: ServerFrame
  /** The socket closed (or never opened); `willReconnect` tells whether another attempt follows. */
  close: { code: number, reason: string, willReconnect: boolean }
  /** The next attempt is scheduled. */
  reconnecting: { attempt: number, delayMs: number }
  /** The client stopped for good (4001, 4003, repeated 4009). */
  fatal: PanError
}

export interface ConnectionOptions {
  url: string
  token: () => Promise<string>
  socketFactory: () => Promise<SocketFactory>
  policy: ClosePolicy
  /** Bound on one attempt, from opening the socket to `hello`, ms. */
  handshakeTimeoutMs: number
}

/** The frame limit assumed until a `hello` says otherwise (the server's default). */
const DEFAULT_MAX_FRAME_BYTES = 65_536

/**
 * One logical connection to a PAN server: a succession of sockets. It opens one, waits for
 * `hello`, hands every frame on, and after a close asks the close policy whether and when to try
 * again. While open it watches liveness: the server's pings are WebSocket control frames a
 * browser never sees, so when the socket has been silent for `heartbeatMs` it sends a `ping`
 * frame, and after twice that it gives the socket up as dead (a silently lost network path).
 */
export class Connection extends Emitter<ConnectionEvents> {
  readonly #options: ConnectionOptions
  #socket: SocketLike | undefined
  #hello: HelloFrame | undefined
  #open = false
  #stopped = false
  #attempts = 0
  #number = 0
  #lastFrameAt = 0
  #pinged = false
  #timer: ReturnType<typeof setTimeout> | undefined
  #liveness: ReturnType<typeof setInterval> | undefined

  constructor (options: ConnectionOptions) {
    super()
    this.#options = options
  }

  /** The latest `hello` (user, server, limits), kept after a close. */
  get hello (): HelloFrame | undefined { return this.#hello }
  /** True between a `hello` and the next close. */
  get isOpen (): boolean { return this.#open }
  /** Counts hellos: a new number means a new server-side connection (rooms must be joined again). */
  get number (): number { return this.#number }
  get stopped (): boolean { return this.#stopped }
  get maxFrameBytes (): number { return this.#hello?.limits.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES }

  start (): void {
    if (this.#stopped || this.#socket !== undefined || this.#timer !== undefined) return
    this.#attempt()
  }

  /** Serialises and writes a frame; false when no connection is open. */
  write (frame: object): boolean {
    const socket = this.#socket
    if (!this.#open || socket === undefined) return false
    socket.send(JSON.stringify(frame))
    return true
  }

  /** True when the frame, serialised, is over the server's frame limit (which closes with 1009). */
  tooLarge (frame: object): boolean {
    return utf8Length(JSON.stringify(frame)) > this.maxFrameBytes
  }

  /** Stops for good: no reconnect; resolves once the socket is closed (bounded at 2 s). */
  async close (): Promise<void> {
    this.#stopped = true
    this.#clearTimers()
    const socket = this.#socket
    if (socket === undefined) return
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.#drop(socket, CloseCode.normal, 'closed by the client')
        resolve()
      }, 2000)
      socket.onclose = (event) => {
        clearTimeout(timer)
        this.#closed(socket, event.code, event.reason)
        resolve()
      }
      try { socket.close(CloseCode.normal, 'client closing') } catch { socket.terminate?.() }
    })
  }

  /** Gives the current socket up (as after a missed heartbeat) and reconnects. */
  reconnect (reason: string): void {
    if (this.#socket !== undefined) this.#drop(this.#socket, 1006, reason)
  }

  #attempt (): void {
    this.#timer = undefined
    const attempt = ++this.#attempts
    this.#openSocket().then((socket) => {
      if (this.#stopped || attempt !== this.#attempts) {
        // Closed meanwhile. `ws` reports closing a connecting socket as an error event, which
        // would be thrown were nobody listening.
        socket.onerror = () => {}
        socket.onclose = null
        try { socket.close(CloseCode.normal) } catch {}
        return
      }
      this.#watch(socket)
    }, (err: unknown) => {
      this.#afterClose(1006, `could not open a socket: ${err instanceof Error ? err.message : String(err)}`)
    })
  }

  async #openSocket (): Promise<SocketLike> {
    const [factory, token] = await Promise.all([this.#options.socketFactory(), this.#options.token()])
    return await factory(this.#options.url, token)
  }

  #watch (socket: SocketLike): void {
    this.#socket = socket
    const handshake = setTimeout(() => {
      this.#drop(socket, 1006, `no hello within ${this.#options.handshakeTimeoutMs} ms`)
    }, this.#options.handshakeTimeoutMs)
    socket.onerror = () => {} // a close always follows, with the code that matters
    socket.onclose = (event) => {
      clearTimeout(handshake)
      this.#closed(socket, event.code, event.reason)
    }
    socket.onmessage = (event) => {
      if (socket !== this.#socket || typeof event.data !== 'string') return
      let frame: ServerFrame
      try {
        frame = JSON.parse(event.data) as ServerFrame
      } catch {
        return
      }
      this.#lastFrameAt = Date.now()
      this.#pinged = false
      if (frame.type === 'hello') {
        clearTimeout(handshake)
        this.#onHello(frame)
        return
      }
      if (this.#open) this.emit('frame', frame)
    }
  }

  #onHello (hello: HelloFrame): void {
    this.#hello = hello
    this.#open = true
    this.#number++
    this.#options.policy.opened()
    const every = Math.max(50, Math.floor(hello.heartbeatMs / 2))
    this.#liveness = setInterval(() => { this.#checkLiveness(hello.heartbeatMs) }, every)
    this.emit('open', hello)
  }

  #checkLiveness (heartbeatMs: number): void {
    const silentFor = Date.now() - this.#lastFrameAt
    if (silentFor > 2 * heartbeatMs) {
      this.reconnect(`no frame for ${silentFor} ms`)
    } else if (silentFor > heartbeatMs && !this.#pinged) {
      this.#pinged = true
      this.write({ type: 'ping' })
    }
  }

  /** Abandons a socket without waiting for its close handshake, then handles it as closed. */
  #drop (socket: SocketLike, code: number, reason: string): void {
    socket.onclose = null
    socket.onmessage = null
    if (socket.terminate !== undefined) socket.terminate()
    else {
      try { socket.close(CloseCode.normal, reason) } catch {}
    }
    this.#closed(socket, code, reason)
  }

  #closed (socket: SocketLike, code: number, reason: string): void {
    if (socket !== this.#socket) return
    this.#socket = undefined
    this.#open = false
    if (this.#liveness !== undefined) clearInterval(this.#liveness)
    this.#liveness = undefined
    this.#afterClose(code, reason)
  }

  #afterClose (code: number, reason: string): void {
    if (this.#stopped) {
      this.emit('close', { code, reason, willReconnect: false })
      return
    }
    const decision = this.#options.policy.decide(code)
    this.emit('close', { code, reason, willReconnect: decision.retry })
    if (!decision.retry) {
      this.#stopped = true
      this.emit('fatal', decision.error)
      return
    }
    this.emit('reconnecting', { attempt: this.#attempts + 1, delayMs: decision.delayMs })
    this.#timer = setTimeout(() => { this.#attempt() }, decision.delayMs)
  }

  #clearTimers (): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer)
    if (this.#liveness !== undefined) clearInterval(this.#liveness)
    this.#timer = undefined
    this.#liveness = undefined
  }
}
