import { fork, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { merge, type Histogram } from '../hist.ts'
import { track } from '../proc.ts'
import type { Protocol } from '../targets/types.ts'
import type { Command, ConnSpec, ConnectReport, Load, Report, StepCounts, StepReport } from './messages.ts'

const workerEntry = fileURLToPath(new URL('./worker.ts', import.meta.url))
const tsxLoader = import.meta.resolve('tsx')

/** Connections per source address: well under the ~28k ephemeral ports one address has. */
const PER_ADDRESS = 5000
let addressCounter = 0

/**
 * Source addresses on loopback, never reused within a run (127.0.0.2, .3, … then 127.0.1.x):
 * sockets a scenario closed linger in TIME_WAIT and would refuse a bind to their port.
 */
export function nextAddress (): string {
  const n = addressCounter++
  return `127.0.${Math.floor(n / 250)}.${(n % 250) + 2}`
}

/** Gives `count` connections source addresses, PER_ADDRESS per address. */
export function addresses (count: number): string[] {
  const out: string[] = []
  let current = nextAddress()
  for (let i = 0; i < count; i++) {
    if (i > 0 && i % PER_ADDRESS === 0) current = nextAddress()
    out.push(current)
  }
  return out
}

export interface StepResult extends StepCounts {
  deliveries: Histogram
  acks: Histogram
  /** Each worker's CPU during the step as a share of one core (1 = a full core). */
  clientCpu: number[]
  wallMs: number
}

class Worker {
  readonly child: ChildProcess
  /** Connections this worker opened, in the order of the global list it was given. */
  count = 0
  #waiters: Array<(r: Report) => void> = []

  constructor (index: number) {
    const env = { ...process.env }
    delete env.NODE_OPTIONS // a test runner's hooks (coverage) must not load into the load generator
    this.child = track(fork(workerEntry, [String(index)], { execArgv: ['--import', tsxLoader], env, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }))
    this.child.on('message', (r: Report) => {
      const waiter = this.#waiters.shift()
      waiter?.(r)
    })
  }

  async ask (cmd: Command, timeoutMs: number): Promise<Report> {
    return await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`client worker did not answer ${cmd.cmd} within ${timeoutMs} ms`)), timeoutMs)
      const onExit = (): void => { clearTimeout(timer); reject(new Error(`client worker exited during ${cmd.cmd}`)) }
      this.child.once('exit', onExit)
      this.#waiters.push((r) => {
        clearTimeout(timer)
        this.child.off('exit', onExit)
        if (r.ev === 'fatal') reject(new Error(`client worker failed: ${r.message}`))
        else resolve(r)
      })
      this.child.send(cmd)
    })
  }
}

/** Client worker processes and the connections they hold. */
export class ClientPool {
  readonly #workers: Worker[]

  private constructor (workers: Worker[]) {
    this.#workers = workers
  }

  static start (workers: number): ClientPool {
    return new ClientPool(Array.from({ length: workers }, (_, i) => new Worker(i)))
  }

  get size (): number { return this.#workers.length }

  /** The worker processes, for reading their CPU from /proc. */
  get pids (): number[] {
    return this.#workers.flatMap((w) => w.child.pid === undefined ? [] : [w.child.pid])
  }

  /**
   * Opens `specs` spread in contiguous chunks over the workers (connection i of the list is
   * global index i for `run`). Resolves once every worker has tried all of its share.
   */
  async connect (protocol: Protocol, specs: readonly ConnSpec[], options: { concurrency?: number, timeoutMs?: number, budgetMs?: number } = {}): Promise<{ opened: number, failed: number, skipped: number, errors: string[], ms: number }> {
    const per = Math.ceil(specs.length / this.#workers.length)
    const budgetMs = options.budgetMs ?? 240_000
    const deadline = Date.now() + budgetMs
    const reports = await Promise.all(this.#workers.map(async (w, i) => {
      const share = specs.slice(i * per, (i + 1) * per)
      const r = await w.ask({ cmd: 'connect', protocol, conns: share, concurrency: options.concurrency ?? 100, timeoutMs: options.timeoutMs ?? 20_000, deadline }, budgetMs + 60_000) as ConnectReport
      w.count += r.opened
      return r
    }))
    return {
      opened: reports.reduce((a, r) => a + r.opened, 0),
      failed: reports.reduce((a, r) => a + r.failed, 0),
      skipped: reports.reduce((a, r) => a + r.skipped, 0),
      errors: reports.flatMap((r) => r.errors).slice(0, 5),
      ms: Math.max(...reports.map((r) => r.ms))
    }
  }

  /** Runs one step on every worker at once; `senders` are global connection indices. */
  async run (step: number, senders: readonly number[], load: Load, durationMs: number, graceMs = 2000): Promise<StepResult> {
    const local: number[][] = this.#workers.map(() => [])
    for (const g of senders) {
      let offset = 0
      for (const [i, w] of this.#workers.entries()) {
        if (g < offset + w.count) { local[i]?.push(g - offset); break }
        offset += w.count
      }
    }
    const reports = await Promise.all(this.#workers.map(async (w, i) =>
      await w.ask({ cmd: 'run', step, senders: local[i] ?? [], load, durationMs, graceMs }, durationMs + graceMs + 30_000) as StepReport))
    const closes: Record<string, number> = {}
    for (const r of reports) for (const [code, n] of Object.entries(r.closes)) closes[code] = (closes[code] ?? 0) + n
    return {
      sent: sum(reports, (r) => r.sent),
      acked: sum(reports, (r) => r.acked),
      delivered: sum(reports, (r) => r.delivered),
      stale: sum(reports, (r) => r.stale),
      errors: sum(reports, (r) => r.errors),
      errorSamples: reports.flatMap((r) => r.errorSamples).slice(0, 5),
      closes,
      deliveries: merge(reports.map((r) => r.deliveries)),
      acks: merge(reports.map((r) => r.acks)),
      clientCpu: reports.map((r) => r.cpuMs / r.wallMs),
      wallMs: Math.max(...reports.map((r) => r.wallMs))
    }
  }

  /** Closes every connection (the workers stay). */
  async closeConnections (): Promise<void> {
    await Promise.all(this.#workers.map(async (w) => {
      await w.ask({ cmd: 'close' }, 60_000)
      w.count = 0
    }))
  }

  /** Ends the worker processes. */
  async stop (): Promise<void> {
    await Promise.all(this.#workers.map(async (w) => {
      if (w.child.exitCode !== null) return
      const exited = new Promise((resolve) => w.child.once('exit', resolve))
      w.child.disconnect()
      const timer = setTimeout(() => w.child.kill('SIGKILL'), 5000)
      await exited
      clearTimeout(timer)
    }))
  }
}

function sum<T> (items: readonly T[], pick: (t: T) => number): number {
  let total = 0
  for (const item of items) total += pick(item)
  return total
}
