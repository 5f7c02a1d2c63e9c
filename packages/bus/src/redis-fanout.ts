import type { Redis } from 'ioredis'
import type { ControlEvent } from './bus.ts'
import type { RedisKeys } from './redis-keys.ts'
import type { BusLogger } from './redis-log.ts'
import { MAX_ITEMS_PER_CALL, type Scripts } from './redis-scripts.ts'

type Handler = (payload: string) => void

/**
 * Room fan-out and control events over Redis pub/sub. One PUBLISH per payload (a commit's rooms
 * together in one script call); the subscriber connection holds one channel per room with local
 * handlers, so Redis sends each replica only what it needs, in publish order (one connection each
 * way keeps it).
 */
export class RedisFanout {
  readonly #pub: Redis & Scripts
  readonly #sub: Redis
  readonly #keys: RedisKeys
  readonly #log: BusLogger
  readonly #rooms = new Map<string, Set<Handler>>()
  readonly #control = new Set<(event: ControlEvent) => void>()
  readonly #resync = new Set<() => void>()
  /**
   * Per room, settles once every SUBSCRIBE/UNSUBSCRIBE sent for it is answered and every publish
   * queued behind that is sent. A SUBSCRIBE and a PUBLISH travel on different connections, so
   * without this a payload published right after `subscribe()` could reach Redis first and never
   * come back; publishes queue behind the gate in order, so their order is kept too.
   */
  readonly #gates = new Map<string, Promise<unknown>>()

  constructor (pub: Redis & Scripts, sub: Redis, keys: RedisKeys, log: BusLogger) {
    this.#pub = pub
    this.#sub = sub
    this.#keys = keys
    this.#log = log
    sub.on('message', (channel: string, message: string) => { this.#dispatch(channel, message) })
  }

  /** Subscribes to control events; resolves once Redis confirmed it. */
  async start (): Promise<void> {
    await this.#sub.subscribe(this.#keys.control)
  }

  async publish (room: string, payload: string): Promise<void> {
    const channel = this.#keys.roomChannel(room)
    const gate = this.#gates.get(room)
    if (gate === undefined) {
      await this.#pub.publish(channel, payload)
      return
    }
    // `issued` settles as soon as the PUBLISH is handed to the connection, not when it is answered.
    const issued = gate.then(() => ({ sent: this.#pub.publish(channel, payload) }))
    this.#setGate(room, issued)
    await (await issued).sent
  }

  /**
   * Rooms without a (un)subscribe in flight go out in one script call per 500, which Redis runs as
   * that many PUBLISHes in order (a commit over 100 rooms was 100 commands, 100 replies and 100
   * promises); the others queue behind their room's gate as `publish` does. Either way each room's
   * payloads leave on the command connection in call order.
   */
  async publishMany (entries: ReadonlyArray<{ room: string, payload: string }>): Promise<void> {
    const sent: Array<Promise<unknown>> = []
    let batch: string[] = []
    for (const { room, payload } of entries) {
      if (this.#gates.has(room)) {
        sent.push(this.publish(room, payload))
        continue
      }
      batch.push(this.#keys.roomChannel(room), payload)
      if (batch.length === 2 * MAX_ITEMS_PER_CALL) {
        sent.push(this.#pub.panPublish(...batch))
        batch = []
      }
    }
    if (batch.length === 2) sent.push(this.#pub.publish(batch[0] as string, batch[1] as string))
    else if (batch.length > 0) sent.push(this.#pub.panPublish(...batch))
    await Promise.all(sent)
  }

  subscribe (room: string, handler: Handler): () => void {
    const channel = this.#keys.roomChannel(room)
    let handlers = this.#rooms.get(room)
    if (handlers === undefined) {
      handlers = new Set()
      this.#rooms.set(room, handlers)
      this.#gate(room, this.#sub.subscribe(channel))
    }
    handlers.add(handler)
    const mine = handlers
    return () => {
      mine.delete(handler)
      if (mine.size > 0 || this.#rooms.get(room) !== mine) return
      this.#rooms.delete(room)
      this.#gate(room, this.#sub.unsubscribe(channel))
    }
  }

  /** Settles once Redis confirmed every (un)subscribe sent for the room so far. */
  async subscribed (room: string): Promise<void> {
    await this.#gates.get(room)
  }

  async control (event: ControlEvent): Promise<void> {
    await this.#pub.publish(this.#keys.control, JSON.stringify(event))
  }

  onControl (handler: (event: ControlEvent) => void): () => void {
    this.#control.add(handler)
    return () => { this.#control.delete(handler) }
  }

  onResync (handler: () => void): () => void {
    this.#resync.add(handler)
    return () => { this.#resync.delete(handler) }
  }

  /**
   * After the subscriber connection came back: subscribes again to every channel with local
   * handlers (ioredis re-subscribes by itself, but not to channels whose SUBSCRIBE failed during
   * the outage), and once Redis has confirmed, tells the resync listeners that payloads may have
   * been lost. Confirmed first, so a listener's catch-up misses nothing published after it.
   */
  async resync (): Promise<void> {
    const rooms = [...this.#rooms.keys()].map((room) => this.#keys.roomChannel(room))
    await this.#sub.subscribe(this.#keys.control, ...rooms)
    for (const handler of this.#resync) this.#safely(handler, undefined)
  }

  /** Drops every handler, at close. */
  clear (): void {
    this.#rooms.clear()
    this.#control.clear()
    this.#resync.clear()
  }

  #gate (room: string, reply: Promise<unknown>): void {
    const done = reply.catch((err: unknown) => { this.#log.warn({ err, room }, 'redis bus: (un)subscribing a room failed') })
    const gate = this.#gates.get(room)
    this.#setGate(room, gate === undefined ? done : Promise.all([gate, done]))
  }

  #setGate (room: string, gate: Promise<unknown>): void {
    this.#gates.set(room, gate)
    // Whatever comes after the last gate settled may go straight to Redis again.
    gate.then(() => { if (this.#gates.get(room) === gate) this.#gates.delete(room) }, () => {})
  }

  #dispatch (channel: string, message: string): void {
    if (channel === this.#keys.control) {
      let event: ControlEvent
      try {
        event = JSON.parse(message) as ControlEvent
      } catch (err) {
        this.#log.error({ err }, 'redis bus: unreadable control event')
        return
      }
      for (const handler of this.#control) this.#safely(handler, event)
      return
    }
    if (!channel.startsWith(this.#keys.roomChannelPrefix)) return
    const handlers = this.#rooms.get(channel.slice(this.#keys.roomChannelPrefix.length))
    if (handlers === undefined) return
    for (const handler of handlers) this.#safely(handler, message)
  }

  /** A throwing handler must not stop the others, nor surface inside ioredis's reply parser. */
  #safely<T>(handler: (arg: T) => void, arg: T): void {
    try {
      handler(arg)
    } catch (err) {
      this.#log.error({ err }, 'redis bus: a handler threw')
    }
  }
}
