/**
 * The window of the connect path's groups (user upserts, ban and room reads, first joins), ms: long
 * enough for a storm to fill groups, and taken only when it pays (see `Coalescer`).
 */
export const CONNECT_GROUP_WINDOW_MS = 20

/** The window is worth its latency only when it is expected to gather at least this many requests. */
const MIN_EXPECTED_GROUP = 2

/**
 * Group commit for small statements: requests made while the previous group is in flight, or
 * within `windowMs` of the first one, are sent together as one statement, so N concurrent
 * connects cost one round trip, not N. The window matters for PGlite: its statements run on this
 * thread, so a group is never "in flight" while other sockets are read, and without a window each
 * group held one request (measured: 4,701 ban reads for 5,000 connects, ~2 ms each).
 *
 * The window applies only when it pays: the previous group went out less than `windowMs` ago, and
 * requests have lately been arriving fast enough to gather `MIN_EXPECTED_GROUP` or more in one
 * window. Otherwise (a lone request, or a trickle) a request goes at the end of the turn and waits
 * for nobody: the connect path has several of these in series, so a window that gathers nobody
 * would only add latency. A statement's cost is mostly fixed (PGlite: ~250 µs for `select 1`,
 * about the same for 1 row or 7), so in a connect storm a longer window is less CPU per connect.
 *
 * Requests with the same key within a group share one item (the first one's) and one result.
 */
export class Coalescer<I, V> {
  readonly #key: (item: I) => string
  readonly #run: (items: I[]) => Promise<Map<string, V>>
  readonly #maxBatch: number
  readonly #windowMs: number
  #pending = new Map<string, { item: I, waiters: Array<{ resolve: (v: V) => void, reject: (err: unknown) => void }> }>()
  #busy = false
  /** When the last group went out (performance.now()). */
  #lastSentAt = -Infinity
  /** Requests per ms lately: the last group's size over the time since the group before it. */
  #rate = 0
  /** When the oldest pending request arrived: it waits at most `windowMs` for others. */
  #oldestAt = 0

  /**
   * @param key identifies an item; one result per key
   * @param run executes one group; must answer every key it was given
   * @param options.maxBatch items per statement at most (bounds its parameter count). Default 500.
   * @param options.windowMs under load, how long the first request of a group waits for others,
   *   in ms; 0 waits only for the end of the current event-loop turn. Default 0.
   */
  constructor (key: (item: I) => string, run: (items: I[]) => Promise<Map<string, V>>, options: { maxBatch?: number, windowMs?: number } = {}) {
    this.#key = key
    this.#run = run
    this.#maxBatch = options.maxBatch ?? 500
    this.#windowMs = options.windowMs ?? 0
  }

  async load (item: I): Promise<V> {
    return await new Promise<V>((resolve, reject) => {
      const k = this.#key(item)
      const entry = this.#pending.get(k)
      if (entry !== undefined) {
        entry.waiters.push({ resolve, reject })
        return
      }
      this.#pending.set(k, { item, waiters: [{ resolve, reject }] })
      if (this.#pending.size === 1) {
        this.#oldestAt = performance.now()
        if (!this.#busy) this.#schedule()
      }
    })
  }

  #schedule (): void {
    const now = performance.now()
    const pays = now - this.#lastSentAt < this.#windowMs && this.#rate * this.#windowMs >= MIN_EXPECTED_GROUP
    const wait = pays ? this.#oldestAt + this.#windowMs - now : 0
    if (wait > 0) setTimeout(() => { this.#flush() }, wait)
    else setImmediate(() => { this.#flush() })
  }

  #flush (): void {
    if (this.#busy || this.#pending.size === 0) return
    this.#busy = true
    const now = performance.now()
    this.#rate = Math.min(this.#pending.size, this.#maxBatch) / Math.max(1, now - this.#lastSentAt)
    this.#lastSentAt = now
    let group = this.#pending
    if (group.size > this.#maxBatch) {
      const all = [...group]
      group = new Map(all.slice(0, this.#maxBatch))
      this.#pending = new Map(all.slice(this.#maxBatch))
    } else {
      this.#pending = new Map()
    }
    const settle = (results: Map<string, V> | undefined, err?: unknown): void => {
      for (const [k, { waiters }] of group) {
        const value = results?.get(k)
        for (const w of waiters) {
          if (results === undefined) w.reject(err)
          else if (value === undefined && !results.has(k)) w.reject(new Error(`no result for ${k}`))
          else w.resolve(value as V)
        }
      }
      this.#busy = false
      if (this.#pending.size > 0) this.#schedule()
    }
    this.#run([...group.values()].map((e) => e.item)).then((results) => { settle(results) }, (err: unknown) => { settle(undefined, err) })
  }
}
