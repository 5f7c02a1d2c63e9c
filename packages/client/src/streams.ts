import type { Message, ServerFrame, ServerFrameOf } from '@pan/protocol'
import { fullJitter } from './backoff.ts'
import type { Budget } from './budget.ts'
import type { Connection } from './connection.ts'
import { ClosedError, PanError, RETRYABLE_CODES, RequestError, StreamInterruptedError } from './errors.ts'
import { newId } from './ids.ts'
import type { Refs } from './refs.ts'
import type { Ack, StreamEnd, StreamOptions, StreamWriter } from './types.ts'
import { Alarm } from './alarm.ts'

export interface StreamHost {
  connection: Connection
  refs: Refs
  /** `stream.start` spends the send budget on the server. */
  sendBudget: Budget
  deltaBudget: Budget
  ready: (room: string) => boolean
  ensureJoined: (room: string) => Promise<unknown>
  /** The stored message with this seq (REST history): what a resumed stream's end really stored. */
  stored: (room: string, seq: number) => Promise<Message | undefined>
}

type Phase = 'waiting' | 'opening' | 'open' | 'ending' | 'done'

/** Prefix of the `ref` of deltas, which get no reply unless refused: `d<key>.<epoch>`. */
const DELTA_REF = /^d([0-9a-z]+)\.([0-9]+)$/

/**
 * One outgoing stream. The SDK keeps everything written, so that when the connection is lost
 * mid-stream (a replica killed: the server-side stream dies with it) it re-opens the stream with
 * the same id on the next connection and sends the whole text again as its first delta. The
 * server stores one message per id, so `end()` yields exactly one.
 */
class OutgoingStream implements StreamWriter {
  readonly id: string
  readonly room: string
  readonly key: string
  text = ''
  phase: Phase = 'waiting'
  /** Characters of `text` sent as deltas to the current server-side stream. */
  sent = 0
  /** Counts (re)opens; replies and delta errors of an earlier one are ignored. */
  epoch = 0
  started = false
  /** A server-side stream with this id may have existed before the current one. */
  resumed = false
  /** A delta was refused: the end carries the whole text so that the stored one is exact. */
  dirty = false
  notBefore = 0
  failures = 0
  final: StreamEnd | undefined
  ending: { resolve: (ack: Ack) => void, reject: (err: unknown) => void } | undefined
  failure: unknown
  readonly #manager: Streams

  constructor (manager: Streams, room: string, id: string, key: string) {
    this.#manager = manager
    this.room = room
    this.id = id
    this.key = key
  }

  write (delta: string): void {
    if (this.final !== undefined || (this.phase === 'done' && this.failure === undefined)) {
      throw new PanError('PAN_CLIENT_STREAM_ENDED', `stream ${this.id} is already ended or aborted`)
    }
    if (this.failure !== undefined || delta === '') return
    this.text += delta
    this.#manager.schedule()
  }

  async end (final: StreamEnd = {}): Promise<Ack> {
    if (this.failure !== undefined) throw this.failure
    if (this.final !== undefined || this.phase === 'done') throw new PanError('PAN_CLIENT_STREAM_ENDED', `stream ${this.id} is already ended or aborted`)
    this.final = final
    const ack = new Promise<Ack>((resolve, reject) => { this.ending = { resolve, reject } })
    this.#manager.schedule()
    return await ack
  }

  abort (): void {
    this.#manager.abort(this)
  }
}

/**
 * The outgoing streams of one client: opens them once their room is joined, paces deltas to the
 * server's `deltasPerSec` (coalescing what waits), re-opens them after a reconnect, and checks
 * what a re-opened stream's end really stored.
 */
export class Streams {
  readonly #host: StreamHost
  readonly #streams = new Map<string, OutgoingStream>()
  #keys = 0
  #scheduled = false
  readonly #alarm = new Alarm(() => { this.pump() })
  #closed: unknown

  constructor (host: StreamHost) {
    this.#host = host
  }

  open (room: string, options: StreamOptions = {}): StreamWriter {
    if (this.#closed !== undefined) throw this.#closed
    const s = new OutgoingStream(this, room, options.id ?? newId(), (this.#keys++).toString(36))
    this.#streams.set(s.key, s)
    this.#host.ensureJoined(room).catch((err: unknown) => { this.#fail(s, err) })
    this.schedule()
    return s
  }

  /** Pumps once at the end of the current task: writes made in one go leave as one delta. */
  schedule (): void {
    if (this.#scheduled) return
    this.#scheduled = true
    queueMicrotask(() => {
      this.#scheduled = false
      this.pump()
    })
  }

  pump (): void {
    if (!this.#host.connection.isOpen) return
    for (const s of [...this.#streams.values()]) this.#pumpOne(s)
  }

  /** The connection closed: every server-side stream is gone (or stored as interrupted). */
  disconnected (): void {
    for (const s of this.#streams.values()) {
      if (s.phase === 'opening' || s.phase === 'open' || s.phase === 'ending') {
        s.phase = 'waiting'
        s.sent = 0
      }
    }
  }

  /** An `error` frame whose ref names a delta. Returns false when the ref is not a delta's. */
  deltaError (frame: ServerFrameOf<'error'>): boolean {
    const m = DELTA_REF.exec(frame.ref ?? '')
    if (m === null) return false
    const s = this.#streams.get(m[1] ?? '')
    if (s === undefined || String(s.epoch) !== m[2] || s.phase !== 'open') return true
    if (frame.code === 'rate_limited') {
      // The refused text is missing from the server's copy; the end will carry the whole text.
      s.dirty = true
      this.#host.deltaBudget.pause(frame.retryAfterMs ?? 1000)
    } else if (frame.code === 'not_found') {
      this.#reopen(s) // the server dropped the stream (idle timeout): open it again
    } else {
      this.#fail(s, new RequestError(frame.code, frame.message))
    }
    this.schedule()
    return true
  }

  abort (s: OutgoingStream): void {
    if (s.phase === 'done') return
    if (s.phase !== 'waiting') this.#host.connection.write({ type: 'stream.abort', id: s.id })
    this.#finish(s)
    s.ending?.reject(new ClosedError(`stream ${s.id} was aborted`))
  }

  failRoom (room: string, err: unknown): void {
    for (const s of [...this.#streams.values()]) if (s.room === room) this.#fail(s, err)
  }

  close (err: unknown = new ClosedError()): void {
    this.#closed = err
    this.#alarm.cancel()
    for (const s of [...this.#streams.values()]) this.#fail(s, err)
  }

  #pumpOne (s: OutgoingStream): void {
    if (s.phase === 'waiting') {
      if (!this.#host.ready(s.room)) return
      if (s.notBefore > Date.now()) return this.#alarm.set(s.notBefore)
      const wait = this.#host.sendBudget.take()
      if (wait > 0) return this.#alarm.set(Date.now() + wait)
      this.#start(s)
      return
    }
    if (s.phase !== 'open') return
    while (s.sent < s.text.length) {
      const wait = this.#host.deltaBudget.take()
      if (wait > 0) return this.#alarm.set(Date.now() + wait)
      const chunk = this.#fitting(s, s.text.slice(s.sent))
      this.#host.connection.write({ type: 'stream.delta', id: s.id, text: chunk, ref: `d${s.key}.${s.epoch}` })
      s.sent += chunk.length
    }
    if (s.final !== undefined) this.#end(s)
  }

  #start (s: OutgoingStream): void {
    const conn = this.#host.connection
    const epoch = ++s.epoch
    s.resumed ||= s.started
    s.started = true
    s.phase = 'opening'
    const ref = this.#host.refs.add({
      reply: (frame) => { if (s.epoch === epoch && s.phase === 'opening') this.#onStartReply(s, frame) },
      lost: () => {}
    })
    conn.write({ type: 'stream.start', room: s.room, id: s.id, ref })
  }

  #onStartReply (s: OutgoingStream, frame: ServerFrame): void {
    if (frame.type === 'ack' && frame.seq !== undefined) {
      // The server already stored a message under this id: the stream was stored as interrupted
      // when its connection closed, or its end was committed and the ack lost. Nothing can be
      // added to it; say which.
      const ack: Ack = { room: frame.room, id: frame.id, seq: frame.seq, ts: frame.ts ?? Date.now() }
      this.#verify(s, ack).then((a) => {
        this.#finish(s)
        s.ending?.resolve(a)
      }, (err: unknown) => {
        this.#finish(s)
        s.failure = err
        s.ending?.reject(err)
      })
      return
    }
    if (frame.type === 'ack') {
      s.phase = 'open'
      s.sent = 0
      this.schedule()
    } else if (frame.type === 'error') {
      this.#retryOrFail(s, frame)
    }
  }

  #end (s: OutgoingStream): void {
    const final = s.final ?? {}
    const frame: Record<string, unknown> = { type: 'stream.end', id: s.id, ref: 'r000000' }
    if (final.text !== undefined) frame.text = final.text
    else if (s.dirty) frame.text = s.text
    if (final.data !== undefined) frame.data = final.data
    if (this.#host.connection.tooLarge(frame)) {
      if (final.text !== undefined) {
        this.#fail(s, new RequestError('too_large', `the final text is over the server's frame limit of ${this.#host.connection.maxFrameBytes} bytes`))
        return
      }
      delete frame.text // the server's own copy of the deltas will have to do
    }
    const epoch = s.epoch
    s.phase = 'ending'
    frame.ref = this.#host.refs.add({
      reply: (reply) => { if (s.epoch === epoch && s.phase === 'ending') this.#onEndReply(s, reply) },
      lost: () => {}
    })
    this.#host.connection.write(frame)
  }

  #onEndReply (s: OutgoingStream, frame: ServerFrame): void {
    if (frame.type === 'ack' && frame.seq !== undefined) {
      const ack: Ack = { room: frame.room, id: frame.id, seq: frame.seq, ts: frame.ts ?? Date.now() }
      this.#finish(s)
      if (!s.resumed) {
        s.ending?.resolve(ack)
        return
      }
      this.#verify(s, ack).then((a) => s.ending?.resolve(a), (err: unknown) => s.ending?.reject(err))
      return
    }
    if (frame.type !== 'error') return
    // A failed end leaves no stream on the server (it is forgotten either way): open it again.
    if (frame.code === 'not_found') {
      this.#reopen(s)
      this.schedule()
    } else {
      this.#retryOrFail(s, frame)
    }
  }

  /**
   * A re-opened stream's end answered with a seq. If the server had already stored the stream
   * under this id (it stores the text so far as `interrupted` when it sees the connection close)
   * that seq is the old message: say so rather than pretend the whole text was stored.
   */
  async #verify (s: OutgoingStream, ack: Ack): Promise<Ack> {
    const stored = await this.#host.stored(s.room, ack.seq)
    const expected = s.final?.text ?? s.text
    if (stored !== undefined && stored.id === s.id && stored.stream?.status === 'interrupted' && stored.text !== expected) {
      throw new StreamInterruptedError(s.room, s.id, ack.seq, stored.text ?? '')
    }
    return ack
  }

  #retryOrFail (s: OutgoingStream, frame: ServerFrameOf<'error'>): void {
    if (!RETRYABLE_CODES.has(frame.code) || (frame.code !== 'rate_limited' && ++s.failures > 10)) {
      this.#fail(s, new RequestError(frame.code, frame.message, { retryAfterMs: frame.retryAfterMs }))
      return
    }
    this.#reopen(s)
    if (frame.code === 'rate_limited') {
      this.#host.sendBudget.pause(frame.retryAfterMs ?? 1000)
      s.notBefore = Date.now() + (frame.retryAfterMs ?? 1000)
    } else {
      s.notBefore = Date.now() + 100 + fullJitter(s.failures, { baseMs: 200, maxMs: 5000 })
    }
    this.schedule()
  }

  #reopen (s: OutgoingStream): void {
    s.phase = 'waiting'
    s.sent = 0
  }

  #fail (s: OutgoingStream, err: unknown): void {
    if (s.phase === 'done') return
    if (s.phase === 'open' || s.phase === 'opening') this.#host.connection.write({ type: 'stream.abort', id: s.id })
    this.#finish(s)
    s.failure = err
    s.ending?.reject(err)
  }

  #finish (s: OutgoingStream): void {
    s.phase = 'done'
    this.#streams.delete(s.key)
  }

  /** The longest prefix of `text` whose delta frame fits the server's frame limit. */
  #fitting (s: OutgoingStream, text: string): string {
    const conn = this.#host.connection
    const frameOf = (t: string): object => ({ type: 'stream.delta', id: s.id, text: t, ref: `d${s.key}.${s.epoch}` })
    if (!conn.tooLarge(frameOf(text))) return text
    let lo = 1
    let hi = text.length
    while (lo < hi) {
      const mid = Math.ceil((lo + hi) / 2)
      if (conn.tooLarge(frameOf(text.slice(0, mid)))) hi = mid - 1
      else lo = mid
    }
    // Never split a surrogate pair: the server refuses a lone surrogate.
    const code = text.charCodeAt(lo - 1)
    return code >= 0xd800 && code <= 0xdbff && lo > 1 ? text.slice(0, lo - 1) : text.slice(0, lo)
  }
}
