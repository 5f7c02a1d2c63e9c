import type { Message, PresenceMember, ServerFrameOf } from '@pan/protocol'
import { Emitter } from './emitter.ts'
import { KickedError } from './errors.ts'
import { MessageIterator } from './message-iterator.ts'
import type { SeqRange } from './room-log.ts'
import type { Ack, SendBody, StreamOptions, StreamWriter } from './types.ts'

export type StreamEvent = ServerFrameOf<'stream.start'> | ServerFrameOf<'stream.delta'> | ServerFrameOf<'stream.end'>
export type PresenceEvent = ServerFrameOf<'presence.event'>

export interface RoomEvents {
  /** The next stored message, in seq order, each exactly once (your own included). */
  message: Message
  /** Messages `from..to` will never be delivered: deleted by retention, or not readable by you. */
  truncated: SeqRange & { room: string }
  /** Another member's live stream: `stream.start` (with the text so far when you join mid-stream), `stream.delta`, `stream.end`. */
  stream: StreamEvent
  /** A member came online (`presence.join`), went offline (`presence.leave`) or changed state (`presence.state`). */
  presence: PresenceEvent
  /** The server removed you from the room (room ban, revoked membership, room closed). The room is not rejoined. */
  kicked: { room: string, reason: string }
  /** You left the room with `leave()`. */
  left: { room: string }
}

/** What a room handle asks of its client. */
export interface RoomHost {
  lastSeq: (room: string) => number | undefined
  leave: (room: string) => Promise<void>
  send: (room: string, body: SendBody) => Promise<Ack>
  stream: (room: string, options?: StreamOptions) => StreamWriter
  presence: (room: string) => Promise<PresenceMember[]>
}

/**
 * A joined room: events, and an async iterator of its messages. Messages that arrive before the
 * application listens (the replay right after `join()` resolves) are held until the first
 * `message` listener or iterator appears, so none is missed; up to `maxBuffered` of them, beyond
 * which the oldest are dropped and reported as `truncated`.
 */
export class Room extends Emitter<RoomEvents> implements AsyncIterable<Message> {
  readonly id: string
  readonly #host: RoomHost
  readonly #maxBuffered: number
  readonly #iterators = new Set<MessageIterator>()
  /** Messages delivered before anyone listened. */
  #inbox: Message[] = []
  /** True once the inbox has been handed to the first consumer. */
  #flowing = false
  #flushScheduled = false
  #ended = false
  /** What iterators started after the end throw (undefined: they just finish). */
  #endError: unknown

  constructor (id: string, host: RoomHost, maxBuffered: number) {
    super()
    this.id = id
    this.#host = host
    this.#maxBuffered = maxBuffered
  }

  /** Seq of the last message delivered to the application (or skipped as truncated). */
  get lastSeq (): number | undefined { return this.#host.lastSeq(this.id) }

  /** An async iterator of the room's messages from now on (and any held since the join). */
  messages (): AsyncIterableIterator<Message> {
    const it = new MessageIterator(this.id, this.#maxBuffered, (i) => { this.#iterators.delete(i) })
    if (this.#ended) {
      it.end(this.#endError)
      return it
    }
    this.#iterators.add(it)
    this.#startFlowing()
    return it
  }

  [Symbol.asyncIterator] (): AsyncIterableIterator<Message> {
    return this.messages()
  }

  async send (body: SendBody): Promise<Ack> { return await this.#host.send(this.id, body) }
  stream (options?: StreamOptions): StreamWriter { return this.#host.stream(this.id, options) }
  async presence (): Promise<PresenceMember[]> { return await this.#host.presence(this.id) }
  /** Leaves the room: iterators end, pending sends to it are rejected. */
  async leave (): Promise<void> { await this.#host.leave(this.id) }

  protected override listenerAdded (event: keyof RoomEvents): void {
    if (event === 'message') this.#startFlowing()
  }

  /** @internal The room log's next message. */
  deliver (message: Message): void {
    if (!this.#flowing) {
      this.#inbox.push(message)
      if (this.#inbox.length > this.#maxBuffered) {
        const dropped = this.#inbox.shift()
        if (dropped !== undefined) this.emit('truncated', { room: this.id, from: dropped.seq, to: dropped.seq })
      }
      return
    }
    this.emit('message', message)
    for (const it of this.#iterators) it.push(message)
  }

  /** @internal */
  event (name: 'stream', frame: StreamEvent): void
  event (name: 'presence', frame: PresenceEvent): void
  event (name: 'truncated', range: SeqRange): void
  event (name: 'stream' | 'presence' | 'truncated', value: StreamEvent | PresenceEvent | SeqRange): void {
    if (name === 'truncated') this.emit('truncated', { room: this.id, ...(value as SeqRange) })
    else if (name === 'stream') this.emit('stream', value as StreamEvent)
    else this.emit('presence', value as PresenceEvent)
  }

  /**
   * @internal The room is over for this client. Kicked: `kicked` is emitted and iterators throw a
   * `KickedError`. Left (or the client closed): iterators finish. Failed: iterators throw `error`.
   */
  end (how: { kicked: string } | { left: true } | { closed: true } | { error: unknown }): void {
    if (this.#ended) return
    this.#ended = true
    if ('kicked' in how) this.#endError = new KickedError(this.id, how.kicked)
    else if ('error' in how) this.#endError = how.error
    if ('kicked' in how) this.emit('kicked', { room: this.id, reason: how.kicked })
    if ('left' in how) this.emit('left', { room: this.id })
    for (const it of [...this.#iterators]) it.end(this.#endError)
  }

  #startFlowing (): void {
    if (this.#flowing || this.#flushScheduled) return
    this.#flushScheduled = true
    // A microtask later: a listener added right after `await join()` and an iterator started on
    // the next line both receive the held messages.
    queueMicrotask(() => {
      const held = this.#inbox
      this.#inbox = []
      this.#flowing = true
      for (const m of held) this.deliver(m)
    })
  }
}
