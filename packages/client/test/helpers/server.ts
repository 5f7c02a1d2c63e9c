import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, renameSync, rmSync, writeFileSync, openSync, closeSync, readFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Test } from 'tap'
import { createTestDatabase } from '@pan/db/testing'
import type { Role } from '@pan/protocol'
import { signJwt } from '../../src/cli/jwt.ts'

export const repoRoot = fileURLToPath(new URL('../../../../', import.meta.url))
const serverEntry = join(repoRoot, 'apps/server/src/server.ts')
// tsx as a loader inside one node process, so signals reach the server itself.
const tsxLoader = import.meta.resolve('tsx')

export interface PanServer {
  /** http://127.0.0.1:PORT */
  readonly url: string
  readonly port: number
  /** PAN_DATA_DIR of the server (PGlite files; the dev secret when started without one). */
  readonly dataDir: string
  /** The HS256 secret, or undefined when the server generated its own dev secret. */
  readonly secret: string | undefined
  /** A token for `sub` signed with the server's secret. */
  token: (sub: string, role?: Role, name?: string) => string
  /** Stops the process (SIGTERM: drain with 1012; SIGKILL: a crash) and waits for its exit. */
  stop: (signal?: 'SIGTERM' | 'SIGKILL') => Promise<void>
  /** Starts it again on the same port and data dir; resolves once it is ready. */
  start: () => Promise<void>
  /** One REST call as `as` (role admin unless given); resolves with status and parsed body. */
  http: (method: string, path: string, options?: { as?: string, role?: Role, body?: unknown }) => Promise<{ status: number, body: any }>
  /** The server's log so far (stdout and stderr). */
  log: () => string
}

export const TEST_SECRET = 'client-test-secret-client-test-secret-0123'

/**
 * The real server as a process (as `pnpm start` runs it) on a copy of a migrated PGlite data dir,
 * stopped at teardown. `secret: null` lets it generate a dev secret into its data dir.
 */
export async function startServer (t: Test, options: { env?: Record<string, string>, secret?: string | null } = {}): Promise<PanServer> {
  const db = await createTestDatabase('pglite')
  const dataDir = mkdtempSync(join(tmpdir(), 'pan-client-test-'))
  renameSync(db.options.dataDir as string, join(dataDir, 'pglite'))
  await db.destroy()
  const secret = options.secret === null ? undefined : options.secret ?? TEST_SECRET
  const port = await freePort()
  const logFile = join(dataDir, 'server.log')
  writeFileSync(logFile, '')
  let child: ChildProcess | undefined
  let exited: Promise<void> = Promise.resolve()

  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    DATABASE_URL: '',
    REDIS_URL: '',
    PAN_DATA_DIR: dataDir,
    PORT: String(port),
    HOST: '127.0.0.1',
    LOG_LEVEL: 'warn',
    PAN_DRAIN_MS: '300',
    ...(secret === undefined ? {} : { JWT_SECRET: secret }),
    ...options.env
  }
  const url = `http://127.0.0.1:${port}`

  const start = async (): Promise<void> => {
    const fd = openSync(logFile, 'a')
    const proc = spawn(process.execPath, ['--import', tsxLoader, serverEntry], { cwd: repoRoot, env, stdio: ['ignore', fd, fd] })
    closeSync(fd)
    child = proc
    let exitCode: number | null | undefined
    exited = new Promise((resolve) => proc.once('exit', (code) => { exitCode = code; resolve() }))
    const deadline = Date.now() + 60_000
    for (;;) {
      if (exitCode !== undefined) throw new Error(`server exited with ${exitCode} before it was ready:\n${readFileSync(logFile, 'utf8')}`)
      if (Date.now() > deadline) throw new Error(`server not ready within 60 s:\n${readFileSync(logFile, 'utf8')}`)
      const ok = await fetch(`${url}/readyz`).then((r) => r.ok, () => false)
      if (ok) return
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
  }

  const stop = async (signal: 'SIGTERM' | 'SIGKILL' = 'SIGTERM'): Promise<void> => {
    const proc = child
    if (proc === undefined || proc.exitCode !== null || proc.signalCode !== null) return
    proc.kill(signal)
    const timer = setTimeout(() => proc.kill('SIGKILL'), 20_000)
    await exited
    clearTimeout(timer)
  }

  const secretOf = (): string => secret ?? readFileSync(join(dataDir, 'jwt-secret'), 'utf8').trim()
  const token = (sub: string, role: Role = 'agent', name?: string): string =>
    signJwt({ algorithm: 'HS256', key: secretOf(), source: 'test' }, name === undefined ? { sub, role } : { sub, role, name }, 3600)

  t.teardown(async () => {
    await stop()
    if (!t.passing()) t.comment(`server log:\n${readFileSync(logFile, 'utf8').slice(-4000)}`)
    rmSync(dataDir, { recursive: true, force: true })
  })
  await start()

  return {
    url,
    port,
    dataDir,
    secret,
    token,
    stop,
    start,
    log: () => readFileSync(logFile, 'utf8'),
    http: async (method, path, opts = {}) => {
      const headers: Record<string, string> = { authorization: `Bearer ${token(opts.as ?? 'admin', opts.role ?? (opts.as === undefined ? 'admin' : 'agent'))}` }
      if (opts.body !== undefined) headers['content-type'] = 'application/json'
      const res = await fetch(url + path, { method, headers, ...(opts.body === undefined ? {} : { body: JSON.stringify(opts.body) }) })
      const text = await res.text()
      return { status: res.status, body: text === '' ? undefined : JSON.parse(text) }
    }
  }
}

/** Creates a public room (as admin). */
export async function createRoom (server: PanServer, id: string, config: Record<string, unknown> = {}): Promise<void> {
  const res = await server.http('POST', '/v1/rooms', { body: { id, name: id, visibility: 'public', config } })
  if (res.status !== 201) throw new Error(`room ${id}: ${res.status} ${JSON.stringify(res.body)}`)
}

async function freePort (): Promise<number> {
  return await new Promise((resolve, reject) => {
    const srv = createServer()
    srv.once('error', reject)
    srv.listen(0, '127.0.0.1', () => {
      const address = srv.address()
      srv.close(() => { resolve(typeof address === 'object' && address !== null ? address.port : 0) })
    })
  })
}

/** Polls `predicate` every 20 ms until true; rejects after `timeoutMs` naming `what`. */
export async function waitFor (predicate: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}
