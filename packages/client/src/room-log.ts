import type { Message } from '@pan/protocol'
import { fullJitter } from './backoff.ts'

/** A seq range `[from, to]` the application will never receive. */
export interface SeqRange {
  from: number
  to: number
}

export interface RoomLogSink {
  /** The next message in seq order: called exactly once per seq. */
  deliver: (message: Message) => void
  /** A range skipped for good (retention, or history the server will not give us). */
  truncated: (range: SeqRange) => void
  /** Every stored message with `after < seq < before`, ascending (REST history, all pages). */
  fetchRange: (after: number, before: number) => Promise<Message[]>
  /** A failed gap fill; it is retried with backoff. */
  fillFailed: (err: unknown) => void
}

/**
 * One room's delivery bookkeeping: what the application has been given, and what comes next.
 * Messages arrive from the socket (live or replayed after a resume); the log hands them on in
 * seq order, each exactly once. A duplicate (seq at or below the last delivered) is dropped. A
 * message past the next expected seq is held while the missing range is read over REST; what
 * history cannot supply (retention, `historyForNewMembers`) is reported as `truncated`, never
 * skipped silently.
 */
export class RoomLog {
  readonly #sink: RoomLogSink
  /** The last seq delivered (or skipped as truncated); undefined before the first `joined`. */
  #last: number | undefined
  readonly #ahead = new Map<number, Message>()
  #filling = false
  #fillAttempt = 0
  #retryTimer: ReturnType<typeof setTimeout> | undefined
  #closed = false
  /** A join is on its way: what it replays may fill a hole, so no REST read until `joined`. */
  #awaitingJoin = true
  /** Messages dropped as already delivered. */
  duplicates = 0

  constructor (since: number | undefined, sink: RoomLogSink) {
    this.#last = since
    this.#sink = sink
  }

  /** The last seq delivered: the `since` of the next join. */
  get last (): number | undefined { return this.#last }

  /** A `joined` frame: the room's head and, on a resume across deleted messages, the lost range. */
  joined (seq: number, truncated?: SeqRange): void {
    this.#awaitingJoin = false
    // First join without `since`: what is already stored is not ours to deliver; live starts after `seq`.
    this.#last ??= seq
    if (truncated !== undefined && truncated.to > this.#last) this.#skip(truncated.to)
    this.#drain()
  }

  /** A join (with `since` = `last`) was written on a new connection. */
  rejoining (): void {
    this.#awaitingJoin = true
  }

  message (message: Message): void {
    if (this.#closed) return
    if (this.#last !== undefined && message.seq <= this.#last) {
      this.duplicates++
      return
    }
    this.#ahead.set(message.seq, message)
    this.#drain()
  }

  /** Stops delivering and filling (the room was left). */
  close (): void {
    this.#closed = true
    this.#ahead.clear()
    if (this.#retryTimer !== undefined) clearTimeout(this.#retryTimer)
  }

  #drain (): void {
    if (this.#last === undefined || this.#closed) return
    let next = this.#ahead.get(this.#last + 1)
    while (next !== undefined) {
      this.#ahead.delete(next.seq)
      this.#last = next.seq
      this.#sink.deliver(next)
      if (this.#closed) return
      next = this.#ahead.get(this.#last + 1)
    }
    for (const seq of this.#ahead.keys()) if (seq <= this.#last) this.#ahead.delete(seq)
    if (this.#ahead.size > 0 && !this.#filling && !this.#awaitingJoin && this.#retryTimer === undefined) this.#fill()
  }

  /** Reads the hole between the last delivered seq and the first held message over REST. */
  #fill (): void {
    const after = this.#last
    if (after === undefined) return
    const before = Math.min(...this.#ahead.keys())
    this.#filling = true
    this.#sink.fetchRange(after, before).then((messages) => {
      this.#filling = false
      this.#fillAttempt = 0
      if (this.#closed) return
      for (const m of messages.sort((a, b) => a.seq - b.seq)) {
        const last = this.#last ?? after
        if (m.seq <= last || m.seq >= before) continue
        if (m.seq > last + 1) this.#skip(m.seq - 1)
        this.#last = m.seq
        this.#sink.deliver(m)
        if (this.#closed) return
      }
      // History had no more: whatever is still missing below `before` is gone for us.
      if ((this.#last ?? after) < before - 1) this.#skip(before - 1)
      this.#drain()
    }, (err: unknown) => {
      this.#filling = false
      if (this.#closed) return
      this.#sink.fillFailed(err)
      this.#retryTimer = setTimeout(() => {
        this.#retryTimer = undefined
        this.#drain()
      }, 100 + fullJitter(this.#fillAttempt++, { baseMs: 250, maxMs: 10_000 }))
    })
  }

  #skip (to: number): void {
    const from = (this.#last ?? 0) + 1
    this.#last = to
    if (to >= from) this.#sink.truncated({ from, to })
  }
}
