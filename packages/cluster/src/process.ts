import { spawn, type ChildProcess } from 'node:child_process'
import { closeSync, openSync } from 'node:fs'
import { onExit } from './exit.ts'

export interface Exit {
  code: number | null
  signal: NodeJS.Signals | null
  /** Set when the process could not be started at all (e.g. ENOENT). */
  error?: Error
}

export interface SpawnOptions {
  env?: NodeJS.ProcessEnv
  cwd?: string
  /** stdout and stderr are appended here (the file survives restarts of the same service). */
  logFile: string
  /**
   * What the exit hook sends if this process outlives ours. SIGKILL, except for parents of their
   * own workers (nginx's master) which must be told to take their children down (SIGTERM).
   */
  reapSignal?: NodeJS.Signals
}

/** A child process of the harness: its pid, whether it still runs, and a promise of its exit. */
export class Managed {
  readonly pid: number | undefined
  readonly exited: Promise<Exit>
  #exit: Exit | undefined
  readonly #child: ChildProcess
  #unreap: (() => void) | undefined

  constructor (command: string, args: string[], options: SpawnOptions) {
    // Logs go straight to a file descriptor: no pipe for us to drain, nothing lost if we stall.
    const log = openSync(options.logFile, 'a')
    try {
      this.#child = spawn(command, args, { env: options.env, cwd: options.cwd, stdio: ['ignore', log, log] })
    } finally {
      closeSync(log)
    }
    this.pid = this.#child.pid
    const child = this.#child
    this.exited = new Promise((resolve) => {
      // 'error' also reports failed kills of a live process: only a failed spawn ends it.
      child.on('error', (error) => { if (child.pid === undefined) resolve(this.#record({ code: null, signal: null, error })) })
      child.once('exit', (code, signal) => { resolve(this.#record({ code, signal })) })
    })
    // A crashed or timed-out test must not leave replicas, Redis or nginx behind holding ports.
    const reapSignal = options.reapSignal ?? 'SIGKILL'
    if (child.pid !== undefined) this.#unreap = onExit('kill', () => child.kill(reapSignal))
  }

  get running (): boolean { return this.#exit === undefined }
  /** How it exited; undefined while it runs. */
  get exit (): Exit | undefined { return this.#exit }

  /**
   * Sends `signal` and resolves once the process has exited. If it is still there after
   * `graceMs`, it is SIGKILLed (a hung shutdown must not hang the test run).
   */
  async kill (signal: NodeJS.Signals = 'SIGKILL', graceMs = 15_000): Promise<Exit> {
    if (this.#exit !== undefined) return this.#exit
    this.#child.kill(signal)
    const timer = setTimeout(() => this.#child.kill('SIGKILL'), graceMs)
    try {
      return await this.exited
    } finally {
      clearTimeout(timer)
    }
  }

  #record (exit: Exit): Exit {
    this.#exit = exit
    this.#unreap?.()
    return exit
  }
}

export function describeExit (exit: Exit): string {
  if (exit.error !== undefined) return `failed to start: ${exit.error.message}`
  return exit.signal === null ? `exited with code ${String(exit.code)}` : `killed by ${exit.signal}`
}
