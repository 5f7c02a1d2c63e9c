import type { ServerFrame } from '@pan/protocol'
import { fullJitter } from './backoff.ts'
import type { Budget } from './budget.ts'
import type { Connection } from './connection.ts'
import { ClosedError, QueueFullError, RETRYABLE_CODES, RequestError } from './errors.ts'
import { newId } from './ids.ts'
import type { Refs } from './refs.ts'
import type { Ack, SendBody } from './types.ts'
import { Alarm } from './alarm.ts'

interface PendingSend {
  /** room + NUL + id: ids are unique per sender and room. */
  key: string
  room: string
  id: string
  text: string | undefined
  data: Record<string, unknown> | undefined
  resolve: (ack: Ack) => void
  reject: (err: unknown) => void
  promise: Promise<Ack>
  /** Number of the connection this was last written on (0: not written on any). */
  writtenOn: number
  /** Not written again before this time (epoch ms), after a retryable error. */
  notBefore: number
  /** Retryable errors so far (rate limits aside). */
  failures: number
}

export interface SendQueueHost {
  connection: Connection
  refs: Refs
  budget: Budget
  /** True when `room` is joined on the current connection (the server requires it). */
  ready: (room: string) => boolean
  /** Joins `room` (without delivering to the application) so that sends to it can go out. */
  ensureJoined: (room: string) => Promise<unknown>
  maxQueued: number
}

/** `unavailable` and `internal` are retried this many times; `rate_limited` always. */
const MAX_FAILURES = 10

/**
 * Sends awaiting their ack. Each has a client id fixed at `send()`; it is written once its room is
 * joined on a live connection, and written again, with the same id, on every new connection
 * until acked (the server answers a known id with the original ack: stored once). Sends are
 * written in call order, paced to the server's budget. `rate_limited`, `unavailable` and
 * `internal` are retried; any other error rejects that send with a `RequestError`.
 */
export class SendQueue {
  readonly #host: SendQueueHost
  readonly #pending = new Map<string, PendingSend>()
  readonly #alarm = new Alarm(() => { this.pump() })
  #closed: unknown

  constructor (host: SendQueueHost) {
    this.#host = host
  }

  get size (): number { return this.#pending.size }

  async send (room: string, body: SendBody): Promise<Ack> {
    if (this.#closed !== undefined) throw this.#closed
    const id = body.id ?? newId()
    const key = `${room}\u0000${id}`
    const existing = this.#pending.get(key)
    if (existing !== undefined) return await existing.promise
    if (body.text === undefined && body.data === undefined) throw new RequestError('bad_request', 'a message needs text or data')
    if (this.#pending.size >= this.#host.maxQueued) throw new QueueFullError(this.#host.maxQueued)
    const frame = { type: 'send', room, id, text: body.text, data: body.data, ref: 'r000000' }
    if (this.#host.connection.tooLarge(frame)) {
      throw new RequestError('too_large', `the send frame is over the server's frame limit of ${this.#host.connection.maxFrameBytes} bytes`)
    }
    const pending = { key, room, id, text: body.text, data: body.data, writtenOn: 0, notBefore: 0, failures: 0 } as PendingSend
    pending.promise = new Promise<Ack>((resolve, reject) => {
      pending.resolve = resolve
      pending.reject = reject
    })
    this.#pending.set(key, pending)
    const promise = pending.promise
    this.#host.ensureJoined(room).catch((err: unknown) => { this.failRoom(room, err) })
    this.pump()
    return await promise
  }

  /** Writes every send that can go out now; schedules itself for the rest. */
  pump (): void {
    const conn = this.#host.connection
    if (!conn.isOpen) return
    const now = Date.now()
    let wakeAt = Infinity
    for (const p of this.#pending.values()) {
      if (p.writtenOn === conn.number || !this.#host.ready(p.room)) continue
      if (p.notBefore > now) {
        wakeAt = Math.min(wakeAt, p.notBefore)
        continue
      }
      const wait = this.#host.budget.take()
      if (wait > 0) {
        wakeAt = Math.min(wakeAt, now + wait)
        break // keep call order: nothing overtakes a send waiting for budget
      }
      this.#write(p)
    }
    if (wakeAt !== Infinity) this.#alarm.set(wakeAt)
  }

  /** Rejects every send to `room` (left, kicked, refused). */
  failRoom (room: string, err: unknown): void {
    for (const p of [...this.#pending.values()]) {
      if (p.room === room) this.#settle(p, err)
    }
  }

  /** Rejects everything, now and later (the client closed or stopped). */
  close (err: unknown = new ClosedError()): void {
    this.#closed = err
    this.#alarm.cancel()
    for (const p of [...this.#pending.values()]) this.#settle(p, err)
  }

  #write (p: PendingSend): void {
    const conn = this.#host.connection
    const written = conn.number
    const ref = this.#host.refs.add({
      reply: (frame) => { this.#onReply(p, written, frame) },
      lost: () => { if (p.writtenOn === written) p.writtenOn = 0 }
    })
    p.writtenOn = written
    conn.write({ type: 'send', room: p.room, id: p.id, text: p.text, data: p.data, ref })
  }

  #onReply (p: PendingSend, written: number, frame: ServerFrame): void {
    if (this.#pending.get(p.key) !== p) return
    if (frame.type === 'ack' && frame.seq !== undefined) {
      this.#pending.delete(p.key)
      p.resolve({ room: frame.room, id: frame.id, seq: frame.seq, ts: frame.ts ?? Date.now() })
      this.pump()
      return
    }
    if (frame.type !== 'error') return
    if (!RETRYABLE_CODES.has(frame.code) || (frame.code !== 'rate_limited' && ++p.failures > MAX_FAILURES)) {
      this.#settle(p, new RequestError(frame.code, frame.message, { retryAfterMs: frame.retryAfterMs }))
      return
    }
    if (p.writtenOn === written) p.writtenOn = 0
    if (frame.code === 'rate_limited') {
      const ms = frame.retryAfterMs ?? 1000
      this.#host.budget.pause(ms)
      p.notBefore = Date.now() + ms
    } else {
      p.notBefore = Date.now() + 100 + fullJitter(p.failures, { baseMs: 200, maxMs: 5000 })
    }
    this.pump()
  }

  #settle (p: PendingSend, err: unknown): void {
    if (this.#pending.get(p.key) !== p) return
    this.#pending.delete(p.key)
    p.reject(err)
  }
}
