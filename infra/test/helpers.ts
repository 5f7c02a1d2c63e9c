import { execFile, spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { closeSync, openSync, readFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { parse, parseAllDocuments } from 'yaml'

export const run = promisify(execFile)

/** The repository root. */
export const repoRoot = fileURLToPath(new URL('../../', import.meta.url))

/** An absolute path from a repository-relative one. */
export function repoPath (relative: string): string {
  return fileURLToPath(new URL(relative, `file://${repoRoot}`))
}

/** One YAML document; anchors and `<<` merge keys resolved, as docker compose does. */
export function readYaml (file: string): unknown {
  return parse(readFileSync(file, 'utf8'), { merge: true })
}

/** Every document of a multi-document YAML stream (kubectl output). */
export function parseYamlStream (text: string): unknown[] {
  return parseAllDocuments(text).map((doc) => doc.toJS() as unknown).filter((value) => value !== null)
}

/**
 * Skip reason for a test that needs a Postgres server (DATABASE_URL), or false. Locally, no
 * DATABASE_URL means skip; in CI, which always sets it, a missing one is a broken pipeline and
 * must not pass as a skip: it throws.
 */
export function skipWithoutPostgres (): string | false {
  if ((process.env.DATABASE_URL ?? '') !== '') return false
  if ((process.env.CI ?? '') !== '') throw new Error('DATABASE_URL is not set, but CI is: the cluster-mode infra tests cannot run')
  return 'DATABASE_URL is not set (cluster mode needs a Postgres server)'
}

/**
 * The pnpm that runs this test run (`pnpm test` sets npm_execpath to its script), else `pnpm` on
 * the PATH: as an argv prefix.
 */
export function pnpmCommand (): string[] {
  const execPath = process.env.npm_execpath ?? ''
  if (/pnpm(\.c?js)?$/.test(execPath)) return execPath.endsWith('js') ? [process.execPath, execPath] : [execPath]
  return ['pnpm']
}

/** A TCP port free on 127.0.0.1 right now. */
export async function freePort (): Promise<number> {
  return await new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      const port = typeof address === 'object' && address !== null ? address.port : 0
      server.close(() => { port > 0 ? resolve(port) : reject(new Error('no port from the OS')) })
    })
  })
}

/**
 * Polls `check` every `intervalMs` until it returns true; throws naming `what` after `timeoutMs`.
 * A check that throws ends the wait with its error (e.g. the process waited on has exited).
 */
export async function waitFor (check: () => Promise<boolean>, what: string, timeoutMs = 30_000, intervalMs = 200): Promise<void> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    if (await check()) return
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, intervalMs))
  }
}

/** Status of a GET, 0 when nothing answers. */
export async function httpStatus (url: string): Promise<number> {
  return await fetch(url, { redirect: 'manual', signal: AbortSignal.timeout(5000) }).then((res) => res.status, () => 0)
}

/** A child process whose output goes to `logFile`; `stop()` SIGTERMs it and resolves with its exit. */
export interface Child {
  process: ChildProcess
  /** SIGTERM, SIGKILL after `graceMs`; resolves with the exit code (null when killed by a signal). */
  stop: (graceMs?: number) => Promise<number | null>
  exited: () => boolean
}

export function startProcess (command: string, args: string[], options: { cwd: string, env: NodeJS.ProcessEnv, logFile: string }): Child {
  const log = openSync(options.logFile, 'a')
  let child: ChildProcess
  try {
    child = spawn(command, args, { cwd: options.cwd, env: options.env, stdio: ['ignore', log, log] })
  } finally {
    closeSync(log)
  }
  const exit = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>
  return {
    process: child,
    exited: () => child.exitCode !== null || child.signalCode !== null,
    stop: async (graceMs = 20_000) => {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode
      child.kill('SIGTERM')
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs)
      try {
        const [code] = await exit
        return code
      } finally {
        clearTimeout(timer)
      }
    }
  }
}

/**
 * The last lines of a log file, for failure messages.
 */
export function tail (file: string, lines = 30): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n')
  } catch {
    return `(no ${file})`
  }
}

/** A plain-object guard for parsed YAML/JSON. */
export function isRecord (value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/** `value` as a record, or an error naming `what`. */
export function record (value: unknown, what: string): Record<string, unknown> {
  if (!isRecord(value)) throw new Error(`${what} is not a mapping`)
  return value
}
