import type { Probe } from './probe.ts'

export interface TrafficOptions {
  /** Each agent waits uniformly in [minMs, maxMs] between two sends. */
  minMs: number
  maxMs: number
}

/**
 * Steady sends: every agent posts a short message to its room every `minMs`–`maxMs` (first one
 * after a random fraction of `maxMs`, so the agents do not fire in step). With the defaults that is
 * well under one send per second per user, against a budget of 100.
 */
export class Traffic {
  readonly #probes: readonly Probe[]
  readonly #options: TrafficOptions
  readonly #timers = new Set<NodeJS.Timeout>()
  #running = false
  /** `send()` calls that queued a message (each with a fresh client id). */
  queued = 0

  constructor (probes: readonly Probe[], options: TrafficOptions) {
    this.#probes = probes
    this.#options = options
  }

  start (): void {
    this.#running = true
    for (const probe of this.#probes) this.#schedule(probe, Math.random() * this.#options.maxMs)
  }

  /** No send after this returns. */
  stop (): void {
    this.#running = false
    for (const timer of this.#timers) clearTimeout(timer)
    this.#timers.clear()
  }

  #schedule (probe: Probe, delayMs: number): void {
    const timer = setTimeout(() => {
      this.#timers.delete(timer)
      if (!this.#running) return
      this.#sendOne(probe)
      const { minMs, maxMs } = this.#options
      this.#schedule(probe, minMs + Math.random() * (maxMs - minMs))
    }, delayMs)
    this.#timers.add(timer)
  }

  #sendOne (probe: Probe): void {
    try {
      probe.sentIds.add(probe.agent.send(probe.room, `${probe.user} #${probe.sentIds.size + 1}`))
      this.queued++
    } catch {
      // The agent gave the room up after a non-retryable join error: counted, reported.
      probe.sendRefusals++
    }
  }
}
