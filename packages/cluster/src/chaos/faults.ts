import type { Cluster } from '../cluster.ts'
import type { Timeline } from './timeline.ts'

export interface FaultPlan {
  /** One replica SIGKILLed (and restarted at once) every this many ms, round-robin; 0: never. */
  killEveryMs: number
  /** Redis SIGKILLed and restarted once at this offset, ms; 0: never. */
  redisAtMs: number
  /** Length of the traffic phase, ms: no fault starts later than `untilMs - marginMs`. */
  untilMs: number
}

/** A fault must leave the cluster this long to recover before the traffic stops. */
const MARGIN_MS = 5000

/**
 * The fault schedule, relative to the start of the traffic: replica crashes (SIGKILL, then
 * `start()` on the same port, awaited) round-robin r1, r2, r3, …, and one Redis crash and restart.
 */
export class Faults {
  kills = 0
  restarts = 0
  redisRestarts = 0
  /** Faults that could not be carried out or recovered from (the run then fails). */
  readonly failures: string[] = []
  readonly #cluster: Cluster
  readonly #timeline: Timeline
  #stopped = false
  #wake: () => void = () => {}
  #running: Promise<unknown> = Promise.resolve()

  constructor (cluster: Cluster, timeline: Timeline) {
    this.#cluster = cluster
    this.#timeline = timeline
  }

  /** Starts the schedule now. */
  start (plan: FaultPlan): void {
    const t0 = Date.now()
    const lastStart = plan.untilMs - MARGIN_MS
    const loops: Array<Promise<void>> = []
    if (plan.killEveryMs > 0) loops.push(this.#killLoop(t0, plan.killEveryMs, lastStart))
    if (plan.redisAtMs > 0 && plan.redisAtMs <= lastStart) loops.push(this.#redisOnce(t0 + plan.redisAtMs))
    this.#running = Promise.all(loops)
  }

  /** Cancels faults not yet begun and resolves once any fault in progress has recovered. */
  async stop (): Promise<void> {
    this.#stopped = true
    this.#wake()
    await this.#running
  }

  async #killLoop (t0: number, everyMs: number, lastStart: number): Promise<void> {
    const replicas = this.#cluster.replicas
    for (let k = 1; k * everyMs <= lastStart; k++) {
      if (!(await this.#sleepUntil(t0 + k * everyMs))) return
      const replica = replicas[(k - 1) % replicas.length]
      if (replica === undefined) return
      try {
        await replica.kill('SIGKILL')
        this.kills++
        this.#timeline.record('kill', `${replica.id} SIGKILL`)
        await replica.start()
        this.restarts++
        this.#timeline.record('restarted', `${replica.id} ready again`)
      } catch (err) {
        this.#fail(`kill/restart of ${replica.id}: ${(err as Error).message}`)
        return
      }
    }
  }

  async #redisOnce (at: number): Promise<void> {
    if (!(await this.#sleepUntil(at))) return
    try {
      await this.#cluster.redis.kill('SIGKILL')
      this.#timeline.record('redis-kill', 'redis SIGKILL')
      await this.#cluster.redis.start()
      this.redisRestarts++
      this.#timeline.record('redis-restarted', 'redis answering PING again (empty)')
    } catch (err) {
      this.#fail(`redis restart: ${(err as Error).message}`)
    }
  }

  #fail (message: string): void {
    this.failures.push(message)
    this.#timeline.record('fault-failed', message)
  }

  /** Sleeps until epoch ms `at`; false if `stop()` came first. */
  async #sleepUntil (at: number): Promise<boolean> {
    if (this.#stopped) return false
    const woken = await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(true), Math.max(0, at - Date.now()))
      const previous = this.#wake
      this.#wake = () => { previous(); clearTimeout(timer); resolve(false) }
    })
    return woken && !this.#stopped
  }
}
