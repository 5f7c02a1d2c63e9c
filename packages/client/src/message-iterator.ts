import type { Message } from '@pan/protocol'
import { BufferFullError } from './errors.ts'

/**
 * The async iterator behind `for await (const m of room)`: a queue filled by the room, drained by
 * the application at its own pace. It holds at most `limit` messages; an application that falls
 * further behind gets a `BufferFullError` after the messages it was given, rather than a gap.
 */
export class MessageIterator implements AsyncIterableIterator<Message> {
  readonly #room: string
  readonly #limit: number
  readonly #detach: (it: MessageIterator) => void
  readonly #queue: Message[] = []
  #waiting: { resolve: (r: IteratorResult<Message>) => void, reject: (err: unknown) => void } | undefined
  #done = false
  #error: unknown

  constructor (room: string, limit: number, detach: (it: MessageIterator) => void) {
    this.#room = room
    this.#limit = limit
    this.#detach = detach
  }

  /** Called by the room for each delivered message. */
  push (message: Message): void {
    if (this.#done) return
    const waiting = this.#waiting
    if (waiting !== undefined) {
      this.#waiting = undefined
      waiting.resolve({ value: message, done: false })
      return
    }
    if (this.#queue.length >= this.#limit) {
      this.end(new BufferFullError(this.#room, this.#limit))
      return
    }
    this.#queue.push(message)
  }

  /** Ends the iteration after what is queued: normally, or by throwing `error`. */
  end (error?: unknown): void {
    if (this.#done) return
    this.#done = true
    this.#error = error
    this.#detach(this)
    const waiting = this.#waiting
    this.#waiting = undefined
    if (waiting === undefined) return
    if (error === undefined) waiting.resolve({ value: undefined, done: true })
    else waiting.reject(error)
  }

  async next (): Promise<IteratorResult<Message>> {
    const queued = this.#queue.shift()
    if (queued !== undefined) return { value: queued, done: false }
    if (this.#done) {
      const error = this.#error
      this.#error = undefined
      if (error !== undefined) throw error
      return { value: undefined, done: true }
    }
    return await new Promise((resolve, reject) => { this.#waiting = { resolve, reject } })
  }

  /** `break` out of a `for await`: stops this iterator; the room stays joined. */
  async return (): Promise<IteratorResult<Message>> {
    this.#queue.length = 0
    this.end()
    return { value: undefined, done: true }
  }

  [Symbol.asyncIterator] (): this {
    return this
  }
}
