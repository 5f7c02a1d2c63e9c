import type { Redis } from 'ioredis'
import type { ExpiredPresence, Presence, PresenceEntry, PresenceMember } from './bus.ts'
import type { RedisKeys } from './redis-keys.ts'
import type { Scripts } from './redis-scripts.ts'

/** What `pc:<room>` holds for one connection. */
interface StoredEntry { name: string, since: number, replica: string }

/**
 * Presence and per-user connection counts in Redis, shared by all replicas. Each replica indexes
 * what it registered under its id, so that whoever outlives it can remove exactly that, and keeps
 * a mirror of it in memory, so that it can write it all back when Redis lost it (a restart
 * without persistence, or another replica that took this one for dead and reaped it).
 */
export class RedisPresence implements Presence {
  readonly #redis: Redis & Scripts
  readonly #keys: RedisKeys
  readonly #replicaId: string
  /** Presence entries added here, by `room\tuser\tconn`. */
  readonly #entries = new Map<string, { room: string, entry: PresenceEntry }>()
  /** Connections acquired here, by user. */
  readonly #connections = new Map<string, Set<string>>()
  /**
   * States set here for users with a connection here: only those are ours to restore, and the
   * map stays bounded by this replica's users.
   */
  readonly #states = new Map<string, string>()

  constructor (redis: Redis & Scripts, keys: RedisKeys, replicaId: string) {
    this.#redis = redis
    this.#keys = keys
    this.#replicaId = replicaId
  }

  async add (room: string, entry: PresenceEntry): Promise<{ firstForUser: boolean }> {
    const member = `${room}\t${entry.userId}\t${entry.connectionId}`
    // Mirrored before the write: a re-assert issued meanwhile then includes it (adding is idempotent).
    this.#entries.set(member, { room, entry })
    return { firstForUser: (await this.#add(room, entry)) === 1 }
  }

  async remove (room: string, userId: string, connectionId: string): Promise<{ lastForUser: boolean }> {
    const member = `${room}\t${userId}\t${connectionId}`
    // Forgotten before the write, so that no later re-assert brings it back.
    this.#entries.delete(member)
    const k = this.#keys
    const last = await this.#redis.panPresenceRemove(k.roomConnections(room), k.roomUsers(room), k.prefix, `${userId}\t${connectionId}`, userId, member)
    return { lastForUser: last === 1 }
  }

  async setState (userId: string, state: string): Promise<void> {
    if (this.#connections.has(userId)) this.#states.set(userId, state)
    await this.#redis.hset(this.#keys.states, userId, state)
  }

  async list (room: string): Promise<PresenceMember[]> {
    const [entries, states] = await this.#redis.panPresenceList(this.#keys.roomConnections(room), this.#keys.states)
    const stateOf = new Map<string, string>()
    for (let i = 0; i + 1 < states.length; i += 2) {
      const state = states[i + 1]
      if (typeof states[i] === 'string' && typeof state === 'string') stateOf.set(states[i] as string, state)
    }
    const members = new Map<string, PresenceMember>()
    for (let i = 0; i + 1 < entries.length; i += 2) {
      const field = entries[i] as string
      const stored = JSON.parse(entries[i + 1] as string) as StoredEntry
      const userId = field.slice(0, field.indexOf('\t'))
      const member = members.get(userId)
      if (member === undefined) {
        members.set(userId, { userId, name: stored.name, since: stored.since, state: stateOf.get(userId) ?? 'idle' })
      } else if (stored.since < member.since) {
        member.since = stored.since
      }
    }
    return [...members.values()].sort((a, b) => (a.userId < b.userId ? -1 : a.userId > b.userId ? 1 : 0))
  }

  async counts (rooms: readonly string[]): Promise<Map<string, number>> {
    if (rooms.length === 0) return new Map()
    const pipeline = this.#redis.pipeline()
    for (const room of rooms) pipeline.hlen(this.#keys.roomUsers(room))
    const replies = (await pipeline.exec()) ?? []
    return new Map(rooms.map((room, i) => {
      const [err, count] = replies[i] ?? [new Error('no reply'), 0]
      if (err !== null) throw err
      return [room, Number(count)]
    }))
  }

  /** Registers a connection against the user's cap; see `Bus.acquireConnection`. */
  async acquire (userId: string, connectionId: string, max: number): Promise<boolean> {
    const ok = (await this.#acquire(userId, connectionId, max)) === 1
    if (!ok) return false
    // Mirrored once granted: a refused connection must not be re-asserted past the cap.
    const conns = this.#connections.get(userId) ?? new Set()
    conns.add(connectionId)
    this.#connections.set(userId, conns)
    return true
  }

  async release (userId: string, connectionId: string): Promise<void> {
    const conns = this.#connections.get(userId)
    conns?.delete(connectionId)
    if (conns?.size === 0) {
      this.#connections.delete(userId)
      this.#states.delete(userId)
    }
    const k = this.#keys
    await this.#redis.panRelease(k.userConnections(userId), k.states, k.prefix, connectionId, `${userId}\t${connectionId}`, userId)
  }

  /**
   * Writes this replica's registrations back: after Redis lost them, or another replica reaped
   * them while this one was unreachable. Every write is idempotent. The calls are issued in one
   * synchronous pass, so a `remove` or `release` issued later is also executed later.
   */
  async reassert (): Promise<void> {
    const writes: Array<Promise<unknown>> = []
    for (const [userId, conns] of this.#connections) {
      for (const connectionId of conns) writes.push(this.#acquire(userId, connectionId, -1))
    }
    for (const { room, entry } of this.#entries.values()) writes.push(this.#add(room, entry))
    for (const [userId, state] of this.#states) writes.push(this.#redis.hsetnx(this.#keys.states, userId, state))
    await Promise.all(writes)
  }

  /**
   * Removes everything `replica` registered once its lease has run out. Null when it is alive
   * again or another replica reaped it first; otherwise the users that thereby left a room.
   */
  async reap (replica: string): Promise<ExpiredPresence[] | null> {
    const left = await this.#reap(replica, '0')
    return left === null ? null : triples(left)
  }

  /**
   * Removes what an earlier process with this replica's id left behind (it was killed, and this
   * one took its id): otherwise this process's lease would keep those dead entries alive forever.
   */
  async reapPredecessor (): Promise<ExpiredPresence[]> {
    return triples(await this.#reap(this.#replicaId, '1') ?? [])
  }

  /** Removes this replica's registrations and lease at a clean close, and forgets the mirror. */
  async leave (): Promise<void> {
    this.#entries.clear()
    this.#connections.clear()
    this.#states.clear()
    await this.#reap(this.#replicaId, '1')
  }

  async #add (room: string, entry: PresenceEntry): Promise<number> {
    const k = this.#keys
    const stored: StoredEntry = { name: entry.name, since: entry.since, replica: this.#replicaId }
    return await this.#redis.panPresenceAdd(k.roomConnections(room), k.roomUsers(room), k.replicaPresence(this.#replicaId),
      `${entry.userId}\t${entry.connectionId}`, JSON.stringify(stored), entry.userId, `${room}\t${entry.userId}\t${entry.connectionId}`)
  }

  async #acquire (userId: string, connectionId: string, max: number): Promise<number> {
    const k = this.#keys
    return await this.#redis.panAcquire(k.userConnections(userId), k.replicaConnections(this.#replicaId), k.prefix,
      connectionId, max, `${userId}\t${connectionId}`, this.#replicaId)
  }

  async #reap (replica: string, force: '0' | '1'): Promise<string[] | null> {
    const k = this.#keys
    return await this.#redis.panReap(k.replicas, k.replicaPresence(replica), k.replicaConnections(replica), k.states, k.prefix, replica, force)
  }
}

/** The reap script's flat (room, user, name) list as records. */
function triples (left: string[]): ExpiredPresence[] {
  const expired: ExpiredPresence[] = []
  for (let i = 0; i + 2 < left.length; i += 3) {
    expired.push({ room: left[i] as string, userId: left[i + 1] as string, name: left[i + 2] as string })
  }
  return expired
}
