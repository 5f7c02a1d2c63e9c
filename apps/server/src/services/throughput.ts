/** Messages per second over the last few seconds, for `/v1/stats`. */
export class Throughput {
  readonly #windowSec = 5
  readonly #buckets = new Map<number, number>()

  add (n: number, now = Date.now()): void {
    const sec = Math.floor(now / 1000)
    this.#buckets.set(sec, (this.#buckets.get(sec) ?? 0) + n)
    for (const key of this.#buckets.keys()) if (key <= sec - this.#windowSec) this.#buckets.delete(key)
  }

  /** Average over the last complete seconds of the window. */
  perSecond (now = Date.now()): number {
    const sec = Math.floor(now / 1000)
    let total = 0
    for (const [key, n] of this.#buckets) if (key < sec && key >= sec - this.#windowSec) total += n
    return Math.round((total / this.#windowSec) * 100) / 100
  }
}
