import type { ProcessRole } from '../cpu.ts'

/** Which wire protocol the client workers speak to a target. */
export type Protocol = 'pan' | 'raw' | 'sio'

/** A server under test, started by the bench and stopped by it. */
export interface Target {
  /** Short name in tables and the chart, e.g. `raw ws`, `PAN embedded`. */
  readonly label: string
  readonly protocol: Protocol
  /** WebSocket URL of each node / replica (clients connect straight to them: no load balancer). */
  readonly wsUrls: readonly string[]
  /** HTTP base URL of each node / replica. */
  readonly httpUrls: readonly string[]
  /** The processes whose CPU counts as this target's, asked again at each sample (Postgres backends come and go). */
  processes: () => Promise<ProcessRole[]>
  /** V8 heap in use after a forced full GC, per node, bytes. */
  heapAfterGc: () => Promise<number[]>
  /** A bearer token for `sub` (PAN only; undefined elsewhere). */
  token: (sub: string, role?: 'agent' | 'admin') => string | undefined
  /** Creates public rooms (PAN only; the others create rooms on first join). */
  createRooms: (ids: readonly string[]) => Promise<void>
  /** Stops everything the target started. */
  stop: () => Promise<void>
  /** PAN on Postgres: the URL of its database (for seeding and EXPLAIN). */
  readonly databaseUrl?: string | undefined
  /** The tail of the servers' logs, for error reports. */
  logs: () => string
}
