import { connect } from 'node:net'
import { join } from 'node:path'
import { Managed, describeExit } from './process.ts'
import { freePort } from './ports.ts'
import { WaitAbort, tail, waitUntil } from './wait.ts'

const REDIS_SERVER = '/usr/bin/redis-server'

/**
 * A Redis of the cluster's own, so that a test may kill or restart it without touching the
 * machine's Redis or another test's. Nothing is persisted: a restart is an empty Redis, as after
 * a real crash without persistence.
 */
export class PrivateRedis {
  readonly port: number
  readonly url: string
  readonly logFile: string
  readonly #dir: string
  #process: Managed | undefined

  private constructor (port: number, dir: string) {
    this.port = port
    this.url = `redis://127.0.0.1:${port}`
    this.#dir = dir
    this.logFile = join(dir, 'redis.log')
  }

  /** Starts one on a free port; `dir` holds its log (and is its working directory). */
  static async start (dir: string, timeoutMs = 10_000): Promise<PrivateRedis> {
    const redis = new PrivateRedis(await freePort(), dir)
    await redis.start(timeoutMs)
    return redis
  }

  get running (): boolean { return this.#process?.running ?? false }
  get pid (): number | undefined { return this.#process?.pid }

  /** Starts it again on the same port (after `kill`); resolves once it answers PING. */
  async start (timeoutMs = 10_000): Promise<void> {
    if (this.running) return
    const proc = new Managed(REDIS_SERVER, [
      '--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', this.#dir
    ], { logFile: this.logFile, cwd: this.#dir })
    this.#process = proc
    await waitUntil(async () => {
      if (proc.exit !== undefined) throw new WaitAbort(`redis-server ${describeExit(proc.exit)}\n${tail(this.logFile)}`)
      return await ping(this.port)
    }, { timeoutMs, what: `redis-server on port ${this.port}`, details: () => tail(this.logFile) })
  }

  /** Kills it (SIGKILL by default: a crash) and resolves once it has exited. */
  async kill (signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    await this.#process?.kill(signal)
  }

  /** A crash and a restart on the same port: clients see their connections drop, then an empty Redis. */
  async restart (signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    await this.kill(signal)
    await this.start()
  }

  /** Stops it for good (SIGTERM). */
  async stop (): Promise<void> {
    await this.kill('SIGTERM')
  }
}

/** True when Redis on `port` answers an inline PING with +PONG. */
async function ping (port: number): Promise<boolean> {
  return await new Promise((resolve) => {
    const socket = connect({ port, host: '127.0.0.1' })
    let reply = ''
    const done = (ok: boolean): void => { socket.destroy(); resolve(ok) }
    socket.setTimeout(1000, () => done(false))
    socket.on('error', () => done(false))
    socket.on('connect', () => socket.write('PING\r\n'))
    socket.on('data', (chunk) => {
      reply += chunk.toString('latin1')
      if (reply.includes('\r\n')) done(reply.startsWith('+PONG'))
    })
  })
}
