import { once } from 'node:events'
import WebSocket from 'ws'
import { MemoryBus } from '@pan/bus'
import { createTestDatabase, testDatabaseKinds } from '@pan/db/testing'
import { insertRoom } from '@pan/db'
import type { Role } from '@pan/protocol'
import { buildApp, type App, type AppDeps } from '../src/app.ts'
import { resolveJwtKeys } from '../src/secrets.ts'
import { loadConfig } from '../src/config.ts'
import type { JwtKeys } from '../src/secrets.ts'
import { signToken } from '../src/tokens.ts'

export const TEST_SECRET = 'test-secret-test-secret-test-secret-0123'
export const testKeys: JwtKeys = { algorithm: 'HS256', verifyKey: TEST_SECRET, signKey: TEST_SECRET, generated: false }

type Tap = Tap.Test

declare namespace Tap { type Test = import('tap').Test }

export interface TestServer {
  app: App
  kind: 'pglite' | 'postgres'
  /** http://127.0.0.1:PORT */
  url: string
  wsUrl: string
  token: (sub: string, role?: Role, name?: string) => string
  /** Opens an authenticated socket and waits for `hello`. */
  connect: (sub: string, role?: Role, name?: string) => Promise<TestSocket>
  /** fetch against the server with a bearer token for `as` (or no token when as is null). */
  /** Creates a room straight in the database (tests of the socket need no REST). */
  room: (id: string, options?: { visibility?: 'public' | 'private', config?: Record<string, unknown> }) => Promise<void>
  http: (method: string, path: string, options?: { as?: string | null, role?: Role, body?: unknown }) => Promise<{ status: number, body: any, headers: Headers }>
}

/**
 * Starts a real server (listening on a random port) on a fresh database of `kind`, torn down
 * with the test. Extra env overrides configuration (limits, timers).
 */
export async function startServer (t: Tap, kind: 'pglite' | 'postgres', env: Record<string, string> = {}, options: { logger?: AppDeps['logger'], replicaId?: string } = {}): Promise<TestServer> {
  const testDb = await createTestDatabase(kind)
  const database = await testDb.open()
  const config = loadConfig({ JWT_SECRET: TEST_SECRET, LOG_LEVEL: 'silent', ...(testDb.options.url === undefined ? {} : { DATABASE_URL: testDb.options.url }), ...env })
  const bus = new MemoryBus({ replicaId: options.replicaId ?? 'test' })
  const app = await buildApp({ config, database, bus, keys: resolveJwtKeys(config), logger: options.logger })
  const sockets = new Set<TestSocket>()
  t.teardown(async () => {
    for (const s of sockets) s.terminate()
    await app.close()
    await bus.close()
    await database.close()
    await testDb.destroy()
  })
  const url = await app.listen({ port: 0, host: '127.0.0.1' })
  const wsUrl = url.replace(/^http/, 'ws') + '/v1/ws'
  const token = (sub: string, role: Role = 'agent', name?: string): string =>
    signToken(testKeys, { sub, role, ...(name === undefined ? {} : { name }) }, 3600)
  return {
    app,
    kind,
    url,
    wsUrl,
    token,
    async connect (sub, role = 'agent', name) {
      const socket = await TestSocket.open(`${wsUrl}?token=${token(sub, role, name)}`)
      sockets.add(socket)
      const hello = await socket.next()
      if (hello.type !== 'hello') throw new Error(`expected hello, got ${JSON.stringify(hello)}`)
      socket.hello = hello
      return socket
    },
    async room (id, options = {}) {
      await insertRoom(database.db, { id, name: id, visibility: options.visibility ?? 'public', config: options.config ?? {}, metadata: {}, createdBy: null })
    },
    async http (method, path, options = {}) {
      const headers: Record<string, string> = {}
      const as = options.as === undefined ? 'admin' : options.as
      if (as !== null) headers.authorization = `Bearer ${token(as, options.role ?? (options.as === undefined ? 'admin' : 'agent'))}`
      if (options.body !== undefined) headers['content-type'] = 'application/json'
      const res = await fetch(url + path, { method, headers, ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }) })
      const text = await res.text()
      return { status: res.status, body: text === '' ? undefined : JSON.parse(text), headers: res.headers }
    }
  }
}

/** Runs `fn` once per database kind under test: PGlite always, Postgres too when DATABASE_URL is set. */
export function eachDatabase (t: Tap, fn: (t: Tap, kind: 'pglite' | 'postgres') => Promise<void>): void {
  for (const kind of testDatabaseKinds()) {
    t.test(kind, async (t) => { await fn(t, kind) })
  }
}

/** A WebSocket client that queues incoming frames for tests to await. */
export class TestSocket {
  readonly ws: WebSocket
  readonly frames: any[] = []
  hello: any
  #waiters: Array<() => void> = []
  #refs = 0
  closeCode: number | undefined
  readonly closed: Promise<number>

  constructor (ws: WebSocket) {
    this.ws = ws
    ws.on('message', (data) => {
      this.frames.push(JSON.parse(data.toString()))
      for (const w of this.#waiters.splice(0)) w()
    })
    this.closed = new Promise((resolve) => {
      ws.on('close', (code) => {
        this.closeCode = code
        for (const w of this.#waiters.splice(0)) w()
        resolve(code)
      })
    })
  }

  static async open (url: string, headers: Record<string, string> = {}): Promise<TestSocket> {
    const ws = new WebSocket(url, { headers })
    const socket = new TestSocket(ws)
    await Promise.race([once(ws, 'open'), once(ws, 'close')])
    return socket
  }

  send (frame: unknown): void {
    this.ws.send(typeof frame === 'string' ? frame : JSON.stringify(frame))
  }

  /** Sends a frame with a fresh ref and resolves with the reply carrying that ref. */
  async request (frame: Record<string, unknown>, timeoutMs = 5000): Promise<any> {
    const ref = `r${++this.#refs}`
    this.send({ ...frame, ref })
    return await this.next((f) => f.ref === ref, timeoutMs)
  }

  /** Resolves with (and removes) the first queued frame matching `match`, waiting for it if needed. */
  async next (match: (frame: any) => boolean = () => true, timeoutMs = 5000): Promise<any> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const i = this.frames.findIndex(match)
      if (i >= 0) return this.frames.splice(i, 1)[0]
      if (this.closeCode !== undefined) throw new Error(`socket closed (${this.closeCode}) while waiting; queued: ${JSON.stringify(this.frames).slice(0, 500)}`)
      const left = deadline - Date.now()
      if (left <= 0) throw new Error(`timed out waiting for a frame; queued: ${JSON.stringify(this.frames).slice(0, 500)}`)
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left)
        this.#waiters.push(() => { clearTimeout(timer); resolve() })
      })
    }
  }

  /** Waits until `n` frames matching `match` have arrived and returns them (removed from the queue). */
  async collect (n: number, match: (frame: any) => boolean, timeoutMs = 10000): Promise<any[]> {
    const out: any[] = []
    while (out.length < n) out.push(await this.next(match, timeoutMs))
    return out
  }

  /** True if no frame matching `match` arrives within `ms`. */
  async nothing (match: (frame: any) => boolean, ms = 200): Promise<boolean> {
    await new Promise((resolve) => setTimeout(resolve, ms))
    return !this.frames.some(match)
  }

  close (): void { this.ws.close() }
  terminate (): void { this.ws.terminate() }
}
