/**
 * Group commit for small statements: requests made while the previous group is in flight are
 * sent together as one statement, so N concurrent connects cost one round trip, not N. Idle, a
 * request waits only until the end of the current event-loop turn (`setImmediate`), which lets
 * the other sockets handled in that turn join it; under load, a group grows to whatever arrived
 * during the previous round trip, so the cost per request falls as the rate rises.
 *
 * Requests with the same key within a group share one item (the first one's) and one result.
 */
export class Coalescer<I, V> {
  readonly #key: (item: I) => string
  readonly #run: (items: I[]) => Promise<Map<string, V>>
  readonly #maxBatch: number
  #pending = new Map<string, { item: I, waiters: Array<{ resolve: (v: V) => void, reject: (err: unknown) => void }> }>()
  #busy = false

  /**
   * @param key identifies an item; one result per key
   * @param run executes one group; must answer every key it was given
   * @param maxBatch items per statement at most (bounds the statement's parameter count). Default 500.
   */
  constructor (key: (item: I) => string, run: (items: I[]) => Promise<Map<string, V>>, maxBatch = 500) {
    this.#key = key
    this.#run = run
    this.#maxBatch = maxBatch
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
      if (this.#pending.size === 1 && !this.#busy) setImmediate(() => { this.#flush() })
    })
  }

  #flush (): void {
    if (this.#busy || this.#pending.size === 0) return
    this.#busy = true
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
      if (this.#pending.size > 0) setImmediate(() => { this.#flush() })
    }
    this.#run([...group.values()].map((e) => e.item)).then((results) => { settle(results) }, (err: unknown) => { settle(undefined, err) })
  }
}
