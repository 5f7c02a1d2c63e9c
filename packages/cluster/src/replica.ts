import { fileURLToPath } from 'node:url'
import { Managed, describeExit } from './process.ts'
import { request } from './http.ts'
import { WaitAbort, tail, waitUntil } from './wait.ts'

/** The repository root, from this file's place in it (packages/cluster/src). */
export const repoRoot = fileURLToPath(new URL('../../../', import.meta.url))
const serverEntry = fileURLToPath(new URL('../../../apps/server/src/server.ts', import.meta.url))
// tsx as a loader inside one node process (not the tsx CLI, which forks a second process that
// would sit between our signals and the server). Resolved from this package, so the child's cwd
// does not matter.
const tsxLoader = import.meta.resolve('tsx')

export interface ReplicaOptions {
  /** PAN_REPLICA_ID, e.g. `r1`. */
  id: string
  port: number
  /** The complete environment of the server process (PORT, HOST and PAN_REPLICA_ID are set here). */
  env: NodeJS.ProcessEnv
  logFile: string
  /** How long `start()` waits for `GET /readyz` to answer 200, ms. */
  readyTimeoutMs: number
  /** Extra node flags before the entry point (e.g. `--cpu-prof`, which NODE_OPTIONS refuses). */
  nodeArgs?: string[]
}

/**
 * One PAN server process (apps/server/src/server.ts, run from source with tsx). It keeps its port
 * across restarts, so nginx's upstream entry and direct clients find it again.
 */
export class Replica {
  readonly id: string
  readonly port: number
  /** http://127.0.0.1:<port>, bypassing nginx. */
  readonly url: string
  /** ws://127.0.0.1:<port>/v1/ws, bypassing nginx. */
  readonly wsUrl: string
  readonly logFile: string
  readonly #options: ReplicaOptions
  #process: Managed | undefined

  constructor (options: ReplicaOptions) {
    this.id = options.id
    this.port = options.port
    this.url = `http://127.0.0.1:${options.port}`
    this.wsUrl = `ws://127.0.0.1:${options.port}/v1/ws`
    this.logFile = options.logFile
    this.#options = options
  }

  get running (): boolean { return this.#process?.running ?? false }
  get pid (): number | undefined { return this.#process?.pid }

  /** Starts the process (unless running) and resolves once `GET /readyz` answers 200. */
  async start (): Promise<void> {
    if (this.running) return
    const env = { ...this.#options.env, PORT: String(this.port), HOST: '127.0.0.1', PAN_REPLICA_ID: this.id }
    const proc = new Managed(process.execPath, [...(this.#options.nodeArgs ?? []), '--import', tsxLoader, serverEntry], { env, cwd: repoRoot, logFile: this.logFile })
    this.#process = proc
    await waitUntil(async () => {
      if (proc.exit !== undefined) throw new WaitAbort(`replica ${this.id} ${describeExit(proc.exit)} before it was ready\n${tail(this.logFile)}`)
      const res = await request({ method: 'GET', url: `${this.url}/readyz`, timeoutMs: 2000 })
      return res.status === 200
    }, {
      timeoutMs: this.#options.readyTimeoutMs,
      intervalMs: 100,
      what: `replica ${this.id} to answer GET ${this.url}/readyz with 200`,
      details: () => tail(this.logFile)
    })
  }

  /** Sends `signal` (default SIGKILL: a crash) and resolves once the process has exited. */
  async kill (signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    await this.#process?.kill(signal)
  }

  /** Graceful stop: SIGTERM, the server drains (PAN_DRAIN_MS) and exits; SIGKILL if it hangs. */
  async stop (): Promise<void> {
    const drainMs = Number(this.#options.env.PAN_DRAIN_MS ?? 10_000)
    await this.#process?.kill('SIGTERM', drainMs + 15_000)
  }
}
