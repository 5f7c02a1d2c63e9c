import type { Protocol } from '../targets/types.ts'

/** One client connection a worker opens. */
export interface ConnSpec {
  /** The node's WebSocket URL (PAN: …/v1/ws; raw ws: /; Socket.IO: /socket.io/?EIO=4&transport=websocket). */
  url: string
  room: string
  /** PAN: bearer token. */
  token?: string | undefined
  /** Source address on loopback (127.0.0.X): ~28k ports per (source, destination) pair. */
  localAddress: string
}

/** How senders send during a step. */
export type Load =
  /** Open loop: each sender sends `perSenderRate` messages per second, whatever happens. */
  | { mode: 'rate', perSenderRate: number }
  /** Closed loop: each sender keeps `window` sends unacknowledged (PAN: ack frame; others: its own message back). */
  | { mode: 'window', window: number }

export type Command =
  | {
    cmd: 'connect'
    protocol: Protocol
    conns: ConnSpec[]
    /** Handshakes in flight at once. */
    concurrency: number
    /** Bound on one connection's handshake (and PAN join), ms. */
    timeoutMs: number
    /** No new connection is started after this epoch ms (the rest count as `skipped`). */
    deadline: number
  }
  | { cmd: 'run', step: number, senders: number[], load: Load, durationMs: number, graceMs: number }
  | { cmd: 'close' }

export interface ConnectReport {
  ev: 'connected'
  opened: number
  failed: number
  /** Not tried: the deadline passed first. */
  skipped: number
  errors: string[]
  ms: number
}

/** What one step counted, in the worker (`StepState`), on the wire (`StepReport`) and merged (`StepResult`). */
export interface StepCounts {
  sent: number
  acked: number
  /** Message frames of this step received (every member, the sender included). */
  delivered: number
  /** Frames of earlier steps that arrived late. */
  stale: number
  errors: number
  errorSamples: string[]
  /** Unexpected closes during the step, by code. */
  closes: Record<string, number>
}

export interface StepReport extends StepCounts {
  ev: 'result'
  step: number
  /** hdr histograms (µs), compressed base64: send stamp → message received; send → ack. */
  deliveries: string
  acks: string
  /** This worker's CPU during the step (user + system), ms, and the step's wall time, ms. */
  cpuMs: number
  wallMs: number
}

export type Report = ConnectReport | StepReport | { ev: 'closed' } | { ev: 'fatal', message: string }
