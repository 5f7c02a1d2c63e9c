/**
 * The bus between PAN replicas: room fan-out, control events, presence, shared counters.
 * Domain-level, not a Redis facade: `MemoryBus` is the single-node implementation and
 * `RedisBus` (cluster mode) implements the same contract; one conformance suite runs on both.
 */

/** Events that every replica must act on within a second. */
export type ControlEvent =
  | { type: 'ban', userId: string, roomId: string | null, reason: string }
  | { type: 'ban_lifted', userId: string }
  | { type: 'membership_revoked', userId: string, roomId: string }
  | { type: 'room_closed', roomId: string }
  | { type: 'room_updated', roomId: string }

export interface PresenceMember {
  userId: string
  name: string
  /** Epoch ms at which the user came online in the room (their earliest live connection). */
  since: number
  state: string
}

export interface PresenceEntry {
  userId: string
  connectionId: string
  name: string
  state: string
  since: number
}

export interface Presence {
  /** Adds a connection to a room; `firstForUser` when the user was not online there before. */
  add: (room: string, entry: PresenceEntry) => Promise<{ firstForUser: boolean }>
  /** Removes a connection; `lastForUser` when the user has no other connection there. */
  remove: (room: string, userId: string, connectionId: string) => Promise<{ lastForUser: boolean }>
  /** Sets the user's state (latest wins across their connections). */
  setState: (userId: string, state: string) => Promise<void>
  /** Distinct online users of a room, ordered by user id. */
  list: (room: string) => Promise<PresenceMember[]>
  /** Distinct online users per room. */
  counts: (rooms: readonly string[]) => Promise<Map<string, number>>
}

/** A user who left a room because the replica holding their connections stopped heartbeating. */
export interface ExpiredPresence {
  room: string
  userId: string
  name: string
}

export interface ReplicaReport {
  id: string
  connections: number
  messagesPerSec: number
  startedAt: number
}

export interface RateDecision {
  ok: boolean
  /** When refused: ms until one token is available. */
  retryAfterMs: number
}

export interface Bus {
  /** This replica's id. */
  readonly replicaId: string
  /** Sends a payload to every subscriber of the room on every replica. */
  publish: (room: string, payload: string) => Promise<void>
  /** Publishes each entry as `publish` would, in the order given, in one round trip where it can. */
  publishMany: (entries: ReadonlyArray<{ room: string, payload: string }>) => Promise<void>
  /** Receives the room's payloads; returns the unsubscribe function. */
  subscribe: (room: string, handler: (payload: string) => void) => () => void
  /**
   * Resolves once payloads that any replica publishes for `room` from now on reach this replica's
   * handlers: a subscription over a network is confirmed later than `subscribe` returns.
   */
  subscribed: (room: string) => Promise<void>
  /** Broadcasts a control event to every replica, this one included. */
  control: (event: ControlEvent) => Promise<void>
  onControl: (handler: (event: ControlEvent) => void) => () => void
  presence: Presence
  /** Registers a connection; false (and nothing registered) when the user already has `max`. */
  acquireConnection: (userId: string, connectionId: string, max: number) => Promise<boolean>
  /**
   * Unregisters a connection. Releasing the user's last one also forgets their presence state,
   * so their next session starts as `idle`.
   */
  releaseConnection: (userId: string, connectionId: string) => Promise<void>
  /**
   * Token bucket shared by all replicas; burst equals the per-second rate, and is at least one
   * token so that a rate below 1/s still lets one through every `1 / perSec` seconds.
   */
  take: (key: string, perSec: number) => Promise<RateDecision>
  /** Publishes this replica's figures for `GET /v1/stats`. */
  report: (report: ReplicaReport) => Promise<void>
  replicas: () => Promise<ReplicaReport[]>
  /**
   * Fires after the bus may have dropped room payloads (its subscription was lost and is back):
   * the listener re-reads its rooms from the database. The single-node bus never fires it.
   */
  onResync: (handler: () => void) => () => void
  /**
   * Fires on the one replica that removed a dead replica's presence (its heartbeat lease ran out),
   * with the users that thereby left each room, so that it can announce their leave.
   */
  onPresenceExpired: (handler: (left: ExpiredPresence[]) => void) => () => void
  /** Throws unless the bus is usable (readiness). */
  ping: () => Promise<void>
  close: () => Promise<void>
}
