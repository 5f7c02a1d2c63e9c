import { spawn, type ChildProcess } from 'node:child_process'
import { readFileSync } from 'node:fs'

/** Clock ticks per second of /proc/<pid>/stat times (USER_HZ; 100 on every Linux we run on). */
const HZ = 100

/**
 * CPU seconds (user + system, all threads) a process has used so far, from /proc/<pid>/stat; 0
 * once it is gone. Resolution is 10 ms: sample windows of seconds, not single operations.
 */
export function cpuSeconds (pid: number): number {
  let stat: string
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  } catch {
    return 0
  }
  // The command name (field 2) may hold spaces: count fields after its closing parenthesis.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return (Number(fields[11]) + Number(fields[12])) / HZ
}

/** Resident set size of a process in bytes (0 once it is gone). */
export function rssBytes (pid: number): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8')
    const kb = /VmRSS:\s+(\d+)/.exec(status)?.[1]
    return kb === undefined ? 0 : Number(kb) * 1024
  } catch {
    return 0
  }
}

export { freePort } from '@pan/cluster'

export const sleep = async (ms: number): Promise<void> => { await new Promise((resolve) => setTimeout(resolve, ms)) }

/** Polls `check` every `intervalMs` until it returns true; throws naming `what` after `timeoutMs`. */
export async function waitUntil (check: () => Promise<boolean> | boolean, what: string, timeoutMs = 30_000, intervalMs = 100): Promise<void> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    if (await check()) return
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await sleep(intervalMs)
  }
}

/** Child processes started by the bench; killed on any exit of the coordinator so that nothing outlives a run. */
const children = new Set<ChildProcess>()
let hooked = false

export function track (child: ChildProcess): ChildProcess {
  children.add(child)
  child.once('exit', () => children.delete(child))
  if (!hooked) {
    hooked = true
    process.on('exit', () => { for (const c of children) c.kill('SIGKILL') })
    for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
      process.once(signal, () => {
        for (const c of children) c.kill('SIGKILL')
        process.exit(130)
      })
    }
  }
  return child
}

export interface Spawned {
  child: ChildProcess
  pid: number
  /** stdout and stderr so far (the last 64 KiB). */
  output: () => string
  /** SIGTERM, then SIGKILL after `graceMs`; resolves once it exited. */
  stop: (graceMs?: number) => Promise<void>
}

/** Starts a process whose output is kept in memory (bounded) for error reports and for the inspector URL. */
export function start (command: string, args: string[], options: { env: NodeJS.ProcessEnv, cwd?: string }): Spawned {
  const child = track(spawn(command, args, { env: options.env, cwd: options.cwd, stdio: ['ignore', 'pipe', 'pipe'] }))
  let out = ''
  const keep = (chunk: Buffer): void => {
    out += chunk.toString('utf8')
    if (out.length > 65_536) out = out.slice(-65_536)
  }
  child.stdout?.on('data', keep)
  child.stderr?.on('data', keep)
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve()
    else child.once('exit', () => resolve())
  })
  if (child.pid === undefined) throw new Error(`could not start ${command}`)
  return {
    child,
    pid: child.pid,
    output: () => out,
    stop: async (graceMs = 10_000) => {
      if (child.exitCode !== null || child.signalCode !== null) return
      child.kill('SIGTERM')
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs)
      await exited
      clearTimeout(timer)
    }
  }
}

/** The inspector WebSocket URL a process started with `--inspect=127.0.0.1:0` printed, once it has. */
export async function inspectorUrl (output: () => string, timeoutMs = 30_000): Promise<string> {
  let url: string | undefined
  await waitUntil(() => {
    url = /Debugger listening on (ws:\/\/\S+)/.exec(output())?.[1]
    return url !== undefined
  }, 'the inspector URL', timeoutMs)
  return url as string
}
