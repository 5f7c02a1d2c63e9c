import type { ServerFrame } from '@pan/protocol'

/** Waits for the server's direct reply to one request frame. */
export interface ReplyHandler {
  /** The reply (`ack`, `joined`, `presence`, `error`, ...) carrying this request's `ref`. */
  reply: (frame: ServerFrame) => void
  /** The connection closed first: no reply will come. */
  lost: () => void
}

/**
 * `ref`s of requests in flight on the current connection. The server echoes a request's `ref` on
 * its direct reply, errors included, so this is how replies find their request.
 */
export class Refs {
  readonly #handlers = new Map<string, ReplyHandler>()
  #next = 0

  add (handler: ReplyHandler): string {
    const ref = `r${(this.#next++).toString(36)}`
    this.#handlers.set(ref, handler)
    return ref
  }

  /** The handler for `ref`, removed: each reply is handled once. */
  take (ref: string): ReplyHandler | undefined {
    const handler = this.#handlers.get(ref)
    this.#handlers.delete(ref)
    return handler
  }

  /** The connection closed: every outstanding request is told. */
  loseAll (): void {
    const handlers = [...this.#handlers.values()]
    this.#handlers.clear()
    for (const h of handlers) h.lost()
  }
}
