import { randomUUID } from 'node:crypto'
import type { Bus, ControlEvent, ExpiredPresence, Presence, PresenceEntry, PresenceMember, RateDecision, ReplicaReport } from './bus.ts'
import { TokenBuckets } from './token-bucket.ts'

type Handler = (payload: string) => void

/** The single-node bus: everything lives in this process. */
export class MemoryBus implements Bus {
  readonly replicaId: string
  readonly presence: Presence
  readonly #presence: MemoryPresence
  readonly #rooms = new Map<string, Set<Handler>>()
  readonly #control = new Set<(event: ControlEvent) => void>()
  readonly #connections = new Map<string, Set<string>>()
  readonly #buckets = new TokenBuckets()
  readonly #sweeper: NodeJS.Timeout
  #report: ReplicaReport | undefined

  constructor (options: { replicaId?: string } = {}) {
    this.replicaId = options.replicaId ?? randomUUID().slice(0, 8)
    this.#presence = new MemoryPresence()
    this.presence = this.#presence
    this.#sweeper = setInterval(() => { this.#buckets.sweep(60_000) }, 60_000).unref()
  }

  async publish (room: string, payload: string): Promise<void> {
    const handlers = this.#rooms.get(room)
    if (handlers === undefined) return
    for (const handler of handlers) handler(payload)
  }

  async publishMany (entries: ReadonlyArray<{ room: string, payload: string }>): Promise<void> {
    // Each publish delivers before it yields, so all are delivered, in order, before this returns.
    await Promise.all(entries.map(async ({ room, payload }) => { await this.publish(room, payload) }))
  }

  subscribe (room: string, handler: Handler): () => void {
    let handlers = this.#rooms.get(room)
    if (handlers === undefined) {
      handlers = new Set()
      this.#rooms.set(room, handlers)
    }
    handlers.add(handler)
    return () => {
      handlers.delete(handler)
      if (handlers.size === 0 && this.#rooms.get(room) === handlers) this.#rooms.delete(room)
    }
  }

  /** In one process a subscription is live as soon as `subscribe` returns. */
  async subscribed (_room: string): Promise<void> {}

  async control (event: ControlEvent): Promise<void> {
    for (const handler of this.#control) handler(event)
  }

  onControl (handler: (event: ControlEvent) => void): () => void {
    this.#control.add(handler)
    return () => { this.#control.delete(handler) }
  }

  async acquireConnection (userId: string, connectionId: string, max: number): Promise<boolean> {
    const set = this.#connections.get(userId) ?? new Set()
    if (set.size >= max && !set.has(connectionId)) return false
    set.add(connectionId)
    this.#connections.set(userId, set)
    return true
  }

  async releaseConnection (userId: string, connectionId: string): Promise<void> {
    const set = this.#connections.get(userId)
    if (set === undefined) return
    set.delete(connectionId)
    if (set.size > 0) return
    this.#connections.delete(userId)
    // The user is offline everywhere: their next session starts as `idle`, and the map of
    // states stays bounded by the users online rather than every user ever seen.
    this.#presence.forgetState(userId)
  }

  async take (key: string, perSec: number): Promise<RateDecision> {
    return this.#buckets.take(key, perSec)
  }

  async report (report: ReplicaReport): Promise<void> {
    this.#report = report
  }

  async replicas (): Promise<ReplicaReport[]> {
    return this.#report === undefined ? [] : [this.#report]
  }

  /** One process cannot lose its own payloads. */
  onResync (_handler: () => void): () => void {
    return () => {}
  }

  /** Presence dies with the process that holds it: nothing is ever left behind to expire. */
  onPresenceExpired (_handler: (left: ExpiredPresence[]) => void): () => void {
    return () => {}
  }

  async ping (): Promise<void> {}

  async close (): Promise<void> {
    clearInterval(this.#sweeper)
    this.#rooms.clear()
    this.#control.clear()
  }
}

/** Presence of one process: room → user → connections, plus each user's latest state. */
class MemoryPresence implements Presence {
  readonly #rooms = new Map<string, Map<string, Map<string, PresenceEntry>>>()
  readonly #states = new Map<string, string>()

  async add (room: string, entry: PresenceEntry): Promise<{ firstForUser: boolean }> {
    let users = this.#rooms.get(room)
    if (users === undefined) {
      users = new Map()
      this.#rooms.set(room, users)
    }
    let conns = users.get(entry.userId)
    const firstForUser = conns === undefined
    if (conns === undefined) {
      conns = new Map()
      users.set(entry.userId, conns)
    }
    conns.set(entry.connectionId, entry)
    return { firstForUser }
  }

  async remove (room: string, userId: string, connectionId: string): Promise<{ lastForUser: boolean }> {
    const users = this.#rooms.get(room)
    const conns = users?.get(userId)
    if (users === undefined || conns === undefined || !conns.delete(connectionId)) return { lastForUser: false }
    if (conns.size > 0) return { lastForUser: false }
    users.delete(userId)
    if (users.size === 0) this.#rooms.delete(room)
    return { lastForUser: true }
  }

  async setState (userId: string, state: string): Promise<void> {
    this.#states.set(userId, state)
  }

  /** Drops the user's state; called when their last connection is released. */
  forgetState (userId: string): void {
    this.#states.delete(userId)
  }

  async list (room: string): Promise<PresenceMember[]> {
    const users = this.#rooms.get(room)
    if (users === undefined) return []
    const members: PresenceMember[] = []
    for (const [userId, conns] of users) {
      let since = Infinity
      let name = userId
      for (const entry of conns.values()) {
        if (entry.since < since) since = entry.since
        name = entry.name
      }
      members.push({ userId, name, since, state: this.#states.get(userId) ?? 'idle' })
    }
    return members.sort((a, b) => (a.userId < b.userId ? -1 : a.userId > b.userId ? 1 : 0))
  }

  async counts (rooms: readonly string[]): Promise<Map<string, number>> {
    return new Map(rooms.map((room) => [room, this.#rooms.get(room)?.size ?? 0]))
  }
}
