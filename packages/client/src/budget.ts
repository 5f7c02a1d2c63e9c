/**
 * A token bucket mirroring one of the server's budgets (`limits.sendPerSec`,
 * `limits.deltasPerSec` from `hello`; burst equals rate, as on the server). Pacing on our side
 * keeps a burst from drawing `rate_limited` errors, of which the server tolerates only so many
 * before it closes the connection with 4008.
 */
export class Budget {
  #rate: number
  #tokens: number
  #at = Date.now()
  #pausedUntil = 0

  constructor (perSecond: number) {
    this.#rate = perSecond
    this.#tokens = perSecond
  }

  /** A new rate (from a `hello`); the bucket starts full. */
  reset (perSecond: number): void {
    this.#rate = perSecond
    this.#tokens = perSecond
    this.#at = Date.now()
  }

  /** Takes one token: 0 when taken, else the milliseconds until one is available. */
  take (): number {
    const now = Date.now()
    if (now < this.#pausedUntil) return this.#pausedUntil - now
    this.#tokens = Math.min(this.#rate, this.#tokens + ((now - this.#at) / 1000) * this.#rate)
    this.#at = now
    if (this.#tokens >= 1) {
      this.#tokens -= 1
      return 0
    }
    return Math.ceil(((1 - this.#tokens) / this.#rate) * 1000)
  }

  /** The server said `rate_limited`: nothing goes out for `ms`. */
  pause (ms: number): void {
    this.#pausedUntil = Math.max(this.#pausedUntil, Date.now() + ms)
    this.#tokens = 0
  }
}
