import { randomBytes } from 'node:crypto'
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Role } from '@pan/protocol'
import { createFreshDatabase, type FreshDatabase } from './database.ts'
import { onExit } from './exit.ts'
import { request, type HttpResponse } from './http.ts'
import { Nginx } from './nginx.ts'
import { freePort } from './ports.ts'
import { PrivateRedis } from './redis.ts'
import { Replica } from './replica.ts'
import { selfSignedCertificate } from './tls.ts'
import { signHs256 } from './token.ts'
import { tail } from './wait.ts'

export interface ClusterOptions {
  /** Number of server replicas. Default 3. */
  replicas?: number
  /** Extra environment for every replica (e.g. `{ PAN_HEARTBEAT_MS: '1000' }`); wins over the defaults. */
  env?: Record<string, string>
  /** Put nginx (TLS, least_conn) in front. Default true. */
  nginx?: boolean
  /**
   * Postgres server to create the cluster's database on (any database on it: only its server is
   * used). Default `process.env.DATABASE_URL`; required.
   */
  databaseUrl?: string
  /** Where replica, Redis and nginx logs go. Default: the run's temporary directory (removed by `stop()`). */
  logDir?: string
  /** Bound on each replica's and nginx's readiness wait, ms. Default 30000. */
  readyTimeoutMs?: number
  /** Extra node flags for every replica (e.g. `--cpu-prof`, which NODE_OPTIONS refuses). */
  nodeArgs?: string[]
}

export interface HttpOptions {
  /** Token subject: the request carries a freshly minted bearer token for it. Default: no token. */
  as?: string
  /** Role of that token. Default `agent`. */
  role?: Role
  body?: unknown
  headers?: Record<string, string>
  /** Aim at this replica directly (index into `replicas`) instead of going through nginx. */
  replica?: number
  timeoutMs?: number
}

export interface StopOptions {
  /** Leave the run directory (logs, configs, certificate) in place, e.g. when a test failed. */
  keepLogs?: boolean
}

/**
 * A running PAN cluster: replicas on one fresh Postgres database and a private Redis, behind
 * nginx with TLS. Start it with `startCluster`, and `stop()` it in a teardown.
 */
export interface Cluster {
  /** `https://127.0.0.1:<port>` through nginx; replica 0's `http://` URL when nginx is off. */
  readonly url: string
  /** `wss://…/v1/ws` through nginx (`ws://` of replica 0 when nginx is off). */
  readonly wsUrl: string
  /** PEM of the self-signed certificate nginx presents: pass as `ca` to https / ws clients. */
  readonly ca: string
  /** URL of the cluster's own database (for assertions on stored rows). */
  readonly databaseUrl: string
  /** HS256 secret every replica verifies tokens with. */
  readonly secret: string
  readonly redis: PrivateRedis
  readonly replicas: readonly Replica[]
  /** Undefined when started with `nginx: false`. */
  readonly nginx: Nginx | undefined
  /** The run's temporary directory (nginx prefix, certs, logs unless `logDir`). */
  readonly dir: string
  /** Direct `http://127.0.0.1:<port>` of replica `i` (no nginx). */
  replicaUrl: (i: number) => string
  /** Direct `ws://127.0.0.1:<port>/v1/ws` of replica `i`. */
  replicaWsUrl: (i: number) => string
  /** An HS256 token for `sub`, valid `ttlSeconds` (default 1 h). */
  token: (sub: string, role?: Role, name?: string, ttlSeconds?: number) => string
  /** One request to the cluster (through nginx, with the CA) or to `replica` directly. */
  http: (method: string, path: string, options?: HttpOptions) => Promise<HttpResponse>
  /** The last lines of every log, for a failing test's output. */
  logTails: (lines?: number) => string
  /** SIGTERM everything, await the exits, drop the database, remove the run directory. */
  stop: (options?: StopOptions) => Promise<void>
}

/** Starts a cluster; on any failure, whatever was started is stopped again before the error surfaces. */
export async function startCluster (options: ClusterOptions = {}): Promise<Cluster> {
  const serverUrl = options.databaseUrl ?? process.env.DATABASE_URL
  if (serverUrl === undefined || serverUrl === '') {
    throw new Error('startCluster needs a Postgres server: set DATABASE_URL (e.g. postgres://postgres@127.0.0.1:5432/postgres) or pass databaseUrl')
  }
  const count = options.replicas ?? 3
  if (!Number.isInteger(count) || count < 1) throw new Error(`replicas must be a positive integer, got ${count}`)
  const readyTimeoutMs = options.readyTimeoutMs ?? 30_000
  const dir = mkdtempSync(join(tmpdir(), 'pan-cluster-'))
  const logDir = options.logDir ?? dir
  mkdirSync(logDir, { recursive: true })

  const started: { database?: FreshDatabase, redis?: PrivateRedis, replicas: Replica[], nginx?: Nginx } = { replicas: [] }
  // If the test process dies without stop(): its children are killed (see process.ts), then this.
  const cancelExitCleanup = onExit('clean', () => {
    started.database?.dropSync()
    rmSync(dir, { recursive: true, force: true })
  })
  const stopAll = async (keepLogs: boolean): Promise<void> => {
    cancelExitCleanup()
    await started.nginx?.stop()
    await Promise.all(started.replicas.map(async (replica) => { await replica.stop() }))
    await started.redis?.stop()
    await started.database?.drop()
    if (!keepLogs) rmSync(dir, { recursive: true, force: true })
  }

  try {
    // allSettled, not all: on a failure, everything that did start is known before cleaning up.
    const [database, redis, cert] = settled(await Promise.allSettled([
      createFreshDatabase(serverUrl).then((db) => { started.database = db; return db }),
      PrivateRedis.start(logDir).then((r) => { started.redis = r; return r }),
      selfSignedCertificate(join(dir, 'certs'))
    ]))
    const secret = randomBytes(30).toString('base64url') // 40 characters
    // A clean environment, not ours: a test runner's NODE_OPTIONS (tap injects coverage hooks
    // that way) or a developer's PAN_* settings must not change what the replicas run.
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      DATABASE_URL: database.url,
      REDIS_URL: redis.url,
      JWT_SECRET: secret,
      LOG_LEVEL: 'warn',
      PAN_DRAIN_MS: '2000',
      // nginx on loopback sets X-Forwarded-For: per-IP limits apply to the client, not to nginx.
      PAN_TRUST_PROXY: '127.0.0.1',
      ...options.env
    }
    const ports = await distinctFreePorts(count)
    const replicas = ports.map((port, i) => new Replica({
      id: `r${i + 1}`, port, env, logFile: join(logDir, `r${i + 1}.log`), readyTimeoutMs, nodeArgs: options.nodeArgs
    }))
    started.replicas = replicas
    // All at once, as a real deploy boots them: they migrate the empty database under a lock.
    settled(await Promise.allSettled(replicas.map(async (replica) => { await replica.start() })))
    const nginx = options.nginx === false
      ? undefined
      : await Nginx.start({ dir, port: await freePort(), upstreams: replicas.map((r) => `127.0.0.1:${r.port}`), ca: cert.pem, readyTimeoutMs })
    started.nginx = nginx

    const first = replicas[0] as Replica
    const replicaAt = (i: number): Replica => {
      const replica = replicas[i]
      if (replica === undefined) throw new Error(`no replica ${i} (the cluster has ${replicas.length})`)
      return replica
    }
    const token = (sub: string, role: Role = 'agent', name?: string, ttlSeconds = 3600): string =>
      signHs256(secret, name === undefined ? { sub, role } : { sub, role, name }, ttlSeconds)
    const url = nginx?.url ?? first.url
    return {
      url,
      wsUrl: nginx === undefined ? first.wsUrl : `${url.replace(/^https/, 'wss')}/v1/ws`,
      ca: cert.pem,
      databaseUrl: database.url,
      secret,
      redis,
      replicas,
      nginx,
      dir,
      replicaUrl: (i) => replicaAt(i).url,
      replicaWsUrl: (i) => replicaAt(i).wsUrl,
      token,
      http: async (method, path, http = {}) => {
        const base = http.replica === undefined ? url : replicaAt(http.replica).url
        const headers: Record<string, string> = { ...http.headers }
        if (http.as !== undefined) headers.authorization = `Bearer ${token(http.as, http.role ?? 'agent')}`
        return await request({
          method,
          url: `${base}${path}`,
          headers,
          body: http.body,
          ca: cert.pem,
          ...(http.timeoutMs === undefined ? {} : { timeoutMs: http.timeoutMs })
        })
      },
      logTails: (lines = 30) => [
        ...replicas.map((r) => r.logFile),
        redis.logFile,
        ...(nginx === undefined ? [] : [nginx.errorLog])
      ].map((file) => tail(file, lines)).join('\n'),
      stop: async (stop = {}) => { await stopAll(stop.keepLogs ?? false) }
    }
  } catch (err) {
    await stopAll(false).catch(() => {})
    throw err
  }
}

/** The values of settled promises, or the first rejection's reason thrown. */
function settled<T extends readonly unknown[]> (results: { [K in keyof T]: PromiseSettledResult<T[K]> }): T {
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected')
  if (failed !== undefined) throw failed.reason
  return results.map((r) => (r as PromiseFulfilledResult<unknown>).value) as unknown as T
}

/** `n` free ports, all different (the OS could hand the same one out twice in a row). */
async function distinctFreePorts (n: number): Promise<number[]> {
  const ports = new Set<number>()
  while (ports.size < n) ports.add(await freePort())
  return [...ports]
}
