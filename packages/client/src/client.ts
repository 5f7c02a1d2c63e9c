import type { AgentState, Limits, PresenceMember, ServerFrame } from '@pan/protocol'
import { Budget } from './budget.ts'
import { ClosePolicy, type ReconnectOptions } from './close-policy.ts'
import { Connection, type HelloFrame } from './connection.ts'
import { Emitter } from './emitter.ts'
import { ClosedError, RequestError, TimeoutError, type PanError } from './errors.ts'
import { Refs } from './refs.ts'
import { PanRest } from './rest.ts'
import type { Room } from './room.ts'
import { Rooms } from './rooms.ts'
import { SendQueue } from './sends.ts'
import { defaultSocketFactory, type NodeSocketOptions, type SocketFactory } from './socket.ts'
import { Streams } from './streams.ts'
import type { Ack, JoinOptions, SendBody, StreamOptions, StreamWriter } from './types.ts'
import { serverUrls } from './urls.ts'

export interface ClientOptions {
  /** The JWT. Give this or `getToken`. */
  token?: string
  /** Asked for a token before every connection and REST call: for tokens that expire. */
  getToken?: () => string | Promise<string>
  /** Reconnect timing (see `ReconnectOptions` for what each close code does). */
  reconnect?: ReconnectOptions
  /** Most sends (and REST-free streams aside) waiting for an ack at once; beyond, `send` rejects with `QueueFullError`. Default 1000. */
  maxQueued?: number
  /** Most messages a room holds for an application that has not read them yet. Default 10000. */
  maxBuffered?: number
  /** Bound on the first `connect()`, ms (reconnects are not bounded). Default 30000. */
  connectTimeoutMs?: number
  /** Bound on `join()` and `presence()`, ms. Default 30000. */
  requestTimeoutMs?: number
  /** Bound on one connection attempt, socket to `hello`, ms. Default 10000. */
  handshakeTimeoutMs?: number
  /** Node: options for the `ws` package, e.g. `{ ca }` for a server with a private CA. */
  ws?: NodeSocketOptions
  /** A custom transport instead of the global `WebSocket` or `ws`. */
  createSocket?: SocketFactory
  /** A `fetch` for REST calls instead of the global one. */
  fetch?: typeof fetch
}

export interface ClientEvents {
  /** Connected (first time or again): who we are, which replica, its limits. */
  open: { user: HelloFrame['user'], server: HelloFrame['server'], limits: Limits }
  /** The connection closed; `willReconnect` false only when the client stopped. */
  close: { code: number, reason: string, willReconnect: boolean }
  reconnecting: { attempt: number, delayMs: number }
  /** The client stopped for good (4001, 4003, repeated 4009): everything pending was rejected with this. */
  error: PanError
  /** Something went wrong that the client recovers from (a gap fill failed and will be retried, an unmatched error frame). */
  warning: unknown
}

export type ClientState = 'idle' | 'connecting' | 'open' | 'reconnecting' | 'closed'

/**
 * A PAN client: one logical connection that reconnects by itself, resumes every joined room
 * from the last seq it delivered, and re-sends unacknowledged messages and open streams with
 * their original ids. See the README for the guarantees.
 */
export class PanClient extends Emitter<ClientEvents> {
  /** REST helpers, with this client's token. */
  readonly rest: PanRest
  readonly #options: ClientOptions
  readonly #connection: Connection
  readonly #refs = new Refs()
  readonly #sendBudget = new Budget(100)
  readonly #deltaBudget = new Budget(200)
  readonly #rooms: Rooms
  readonly #sends: SendQueue
  readonly #streams: Streams
  #state: ClientState = 'idle'
  #agentState: { state: AgentState, note?: string } | undefined
  #fatal: PanError | undefined

  /** `url`: `http(s)://host[:port]` or `ws(s)://host/v1/ws`. Does not connect: call `connect()`. */
  constructor (url: string, options: ClientOptions) {
    super()
    const { token, getToken } = options
    if (token === undefined && getToken === undefined) throw new TypeError('PanClient needs a token or getToken')
    this.#options = options
    const urls = serverUrls(url)
    const tokenOf = async (): Promise<string> => token ?? await (getToken as () => string | Promise<string>)()
    this.rest = new PanRest(urls.http, { getToken: tokenOf, ...(options.fetch === undefined ? {} : { fetch: options.fetch }) })
    let factory: Promise<SocketFactory> | undefined
    this.#connection = new Connection({
      url: urls.ws,
      token: tokenOf,
      socketFactory: async () => {
        if (options.createSocket !== undefined) return options.createSocket
        factory ??= defaultSocketFactory(options.ws)
        return await factory
      },
      policy: new ClosePolicy(options.reconnect ?? {}, getToken !== undefined),
      handshakeTimeoutMs: options.handshakeTimeoutMs ?? 10_000
    })
    const ready = (room: string): boolean => this.#rooms.ready(room)
    const ensureJoined = async (room: string): Promise<unknown> => await this.#rooms.join(room, undefined, false)
    this.#rooms = new Rooms({
      connection: this.#connection,
      refs: this.#refs,
      roomHost: {
        lastSeq: (room) => this.#rooms.lastSeq(room),
        leave: async (room) => { await this.#rooms.leave(room) },
        send: async (room, body) => await this.send(room, body),
        stream: (room, opts) => this.stream(room, opts),
        presence: async (room) => await this.presence(room)
      },
      maxBuffered: options.maxBuffered ?? 10_000,
      requestTimeoutMs: options.requestTimeoutMs ?? 30_000,
      fetchRange: async (room, after, before) => await this.rest.historyRange(room, after, before),
      ready: () => {
        this.#sends.pump()
        this.#streams.pump()
      },
      gone: (room, err) => {
        this.#sends.failRoom(room, err)
        this.#streams.failRoom(room, err)
      },
      warn: (err) => { this.emit('warning', err) }
    })
    this.#sends = new SendQueue({ connection: this.#connection, refs: this.#refs, budget: this.#sendBudget, ready, ensureJoined, maxQueued: options.maxQueued ?? 1000 })
    this.#streams = new Streams({
      connection: this.#connection,
      refs: this.#refs,
      sendBudget: this.#sendBudget,
      deltaBudget: this.#deltaBudget,
      ready,
      ensureJoined,
      stored: async (room, seq) => (await this.rest.history(room, { after: seq - 1, limit: 1 })).items.find((m) => m.seq === seq)
    })
    this.#connection.on('open', (hello) => { this.#onOpen(hello) })
    this.#connection.on('frame', (frame) => { this.#onFrame(frame) })
    this.#connection.on('close', (event) => { this.#onClose(event) })
    this.#connection.on('reconnecting', (event) => { this.emit('reconnecting', event) })
    this.#connection.on('fatal', (err) => { this.#onFatal(err) })
  }

  get state (): ClientState { return this.#state }
  /** Who we are, as the server sees it (from the latest `hello`). */
  get user (): HelloFrame['user'] | undefined { return this.#connection.hello?.user }
  /** The server and replica we are (or were last) connected to. */
  get server (): HelloFrame['server'] | undefined { return this.#connection.hello?.server }
  get limits (): Limits | undefined { return this.#connection.hello?.limits }
  /** Sends waiting for their ack. */
  get pendingSends (): number { return this.#sends.size }

  /**
   * Connects; resolves at the first `hello`. Failed attempts are retried with backoff until
   * `connectTimeoutMs`; a refused token (4001) or a ban (4003) rejects at once.
   */
  async connect (): Promise<this> {
    if (this.#fatal !== undefined) throw this.#fatal
    if (this.#state === 'closed') throw new ClosedError()
    if (this.#connection.isOpen) return this
    if (this.#state === 'idle') this.#state = 'connecting'
    this.#connection.start()
    const timeoutMs = this.#options.connectTimeoutMs ?? 30_000
    await new Promise<void>((resolve, reject) => {
      const offs: Array<() => void> = []
      const settle = (err?: unknown): void => {
        clearTimeout(timer)
        for (const off of offs) off()
        if (err === undefined) resolve()
        else reject(err)
      }
      const timer = setTimeout(() => {
        settle(new TimeoutError(`no connection to the server within ${timeoutMs} ms`))
        // Never connected: stop trying rather than leave a client retrying in the background.
        if (this.#connection.number === 0) this.close().catch(() => {})
      }, timeoutMs)
      offs.push(this.#connection.on('open', () => { settle() }))
      offs.push(this.#connection.on('fatal', (err) => { settle(err) }))
    })
    return this
  }

  /**
   * Joins a room and resolves with its handle: `room.on('message', ...)` or
   * `for await (const m of room)`. With `since`, every message after that seq is delivered first.
   */
  async join (room: string, options: JoinOptions = {}): Promise<Room> {
    this.#assertUsable()
    return await this.#rooms.join(room, options.since, true)
  }

  /**
   * Posts a message; resolves with its ack once it is committed. Joins the room first if needed
   * (without delivering its messages). While disconnected it waits in a bounded queue; after a
   * reconnect it is sent again with the same id, so it is stored exactly once.
   */
  async send (room: string, body: SendBody): Promise<Ack> {
    this.#assertUsable()
    return await this.#sends.send(room, body)
  }

  /** Starts a streamed message in `room` (joined first if needed). */
  stream (room: string, options?: StreamOptions): StreamWriter {
    this.#assertUsable()
    return this.#streams.open(room, options)
  }

  /** Who is online in `room` now, across all replicas. */
  async presence (room: string): Promise<PresenceMember[]> {
    this.#assertUsable()
    const reply = await this.#request({ type: 'presence', room })
    if (reply.type !== 'presence') throw new RequestError('internal', `unexpected reply ${reply.type}`)
    return reply.members
  }

  /** Sets this agent's state shown in presence; kept across reconnects. */
  setState (state: AgentState, note?: string): void {
    this.#assertUsable()
    this.#agentState = note === undefined ? { state } : { state, note }
    this.#connection.write({ type: 'state', ...this.#agentState })
  }

  /** Closes the connection for good. Pending sends and streams reject with `ClosedError`; iterators finish. */
  async close (): Promise<void> {
    if (this.#state === 'closed') return
    this.#state = 'closed'
    const err = new ClosedError()
    this.#sends.close(err)
    this.#streams.close(err)
    this.#rooms.closeAll()
    await this.#connection.close()
    this.#refs.loseAll()
  }

  #assertUsable (): void {
    if (this.#fatal !== undefined) throw this.#fatal
    if (this.#state === 'closed') throw new ClosedError()
    if (this.#state === 'idle') {
      this.#state = 'connecting'
      this.#connection.start()
    }
  }

  /** One request answered by one frame, re-sent on the next connection if this one closes first. */
  async #request (frame: { type: string, [key: string]: unknown }): Promise<ServerFrame> {
    const timeoutMs = this.#options.requestTimeoutMs ?? 30_000
    return await new Promise<ServerFrame>((resolve, reject) => {
      let done = false
      let offOpen = (): void => {}
      const finish = (err: unknown, reply?: ServerFrame): void => {
        if (done) return
        done = true
        clearTimeout(timer)
        offOpen()
        if (reply !== undefined) resolve(reply)
        else reject(err)
      }
      const timer = setTimeout(() => { finish(new TimeoutError(`no reply to ${frame.type} within ${timeoutMs} ms`)) }, timeoutMs)
      const write = (): void => {
        if (done || !this.#connection.isOpen) return
        const ref = this.#refs.add({
          reply: (reply) => {
            if (reply.type === 'error') finish(new RequestError(reply.code, reply.message, { retryAfterMs: reply.retryAfterMs }))
            else finish(undefined, reply)
          },
          lost: () => {}
        })
        this.#connection.write({ ...frame, ref })
      }
      offOpen = this.#connection.on('open', write)
      write()
    })
  }

  #onOpen (hello: HelloFrame): void {
    this.#state = 'open'
    this.#sendBudget.reset(hello.limits.sendPerSec)
    this.#deltaBudget.reset(hello.limits.deltasPerSec)
    if (this.#agentState !== undefined) this.#connection.write({ type: 'state', ...this.#agentState })
    this.#rooms.opened()
    this.emit('open', { user: hello.user, server: hello.server, limits: hello.limits })
  }

  #onFrame (frame: ServerFrame): void {
    const ref = 'ref' in frame ? frame.ref : undefined
    const handler = ref === undefined ? undefined : this.#refs.take(ref)
    if (handler !== undefined) {
      handler.reply(frame)
      return
    }
    if (this.#rooms.frame(frame)) return
    if (frame.type === 'error' && !this.#streams.deltaError(frame)) {
      this.emit('warning', new RequestError(frame.code, frame.message))
    }
  }

  #onClose (event: { code: number, reason: string, willReconnect: boolean }): void {
    this.#refs.loseAll()
    this.#streams.disconnected()
    if (this.#state !== 'closed') this.#state = event.willReconnect ? 'reconnecting' : 'closed'
    this.emit('close', event)
  }

  #onFatal (err: PanError): void {
    this.#fatal = err
    this.#state = 'closed'
    this.#sends.close(err)
    this.#streams.close(err)
    this.#rooms.closeAll(err)
    this.emit('error', err)
  }
}

/** Creates a client and connects it: `const client = await connect(url, { token })`. */
export async function connect (url: string, options: ClientOptions): Promise<PanClient> {
  return await new PanClient(url, options).connect()
}
