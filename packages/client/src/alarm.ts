/**
 * One timer that calls `fire` at the earliest moment asked for: a pump that must run again once a
 * rate budget refills sets the alarm for then, and an earlier request wins over a later one.
 */
export class Alarm {
  readonly #fire: () => void
  #timer: ReturnType<typeof setTimeout> | undefined
  #at = 0

  constructor (fire: () => void) {
    this.#fire = fire
  }

  /** Fires at `at` (epoch ms), unless already set to fire no later. */
  set (at: number): void {
    if (this.#timer !== undefined && this.#at <= at) return
    if (this.#timer !== undefined) clearTimeout(this.#timer)
    this.#at = at
    this.#timer = setTimeout(() => {
      this.#timer = undefined
      this.#fire()
    }, Math.max(0, at - Date.now()))
  }

  cancel (): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer)
    this.#timer = undefined
  }
}
