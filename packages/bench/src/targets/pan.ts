import { randomBytes } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { signHs256, startCluster, type Cluster } from '@pan/cluster'
import { heapAfterGc } from '../heap.ts'
import { freePort, inspectorUrl, start, waitUntil, type Spawned } from '../proc.ts'
import { attach, createDatabase, postgresServerUrl, type BenchDatabase } from './postgres.ts'
import type { Target } from './types.ts'

const repoRoot = fileURLToPath(new URL('../../../../', import.meta.url))
const serverEntry = join(repoRoot, 'apps/server/src/server.ts')
const tsxLoader = import.meta.resolve('tsx')

/**
 * The bench's PAN settings. The defaults protect production (100 sends/s and 20 sockets per
 * user, 3000 REST calls/min); the bench measures the engine, so its few users may go far past them.
 */
export const PAN_BENCH_ENV: Readonly<Record<string, string>> = {
  LOG_LEVEL: 'warn',
  PAN_SEND_PER_SEC: '100000',
  PAN_DELTAS_PER_SEC: '100000',
  PAN_CONNECTIONS_PER_USER: '10000',
  PAN_REST_PER_MIN: '10000000',
  PAN_DRAIN_MS: '1000'
}

export type PanMode =
  /** One process: PGlite in process, the in-process bus (the zero-set-up default). */
  | 'embedded'
  /** One replica on a fresh local Postgres database, the in-process bus (no Redis). */
  | 'postgres'
  /** `replicas` replicas via @pan/cluster: fresh Postgres database, private Redis, no nginx. */
  | 'cluster'

export interface PanOptions {
  mode: PanMode
  /** Cluster mode only. Default 1. */
  replicas?: number
  /** Write a V8 CPU profile of each server process into this folder (`--cpu-prof`). */
  cpuProfDir?: string
  /** Extra environment, over PAN_BENCH_ENV. */
  env?: Record<string, string>
}

export function panLabel (options: PanOptions): string {
  switch (options.mode) {
    case 'embedded': return 'PAN embedded'
    case 'postgres': return 'PAN + Postgres'
    case 'cluster': return `PAN cluster ×${options.replicas ?? 1}`
  }
}

export async function startPan (options: PanOptions): Promise<Target> {
  return options.mode === 'cluster' ? await startPanCluster(options) : await startPanProcess(options)
}

function nodeFlags (options: PanOptions): string[] {
  const flags = ['--inspect=127.0.0.1:0']
  if (options.cpuProfDir !== undefined) flags.push('--cpu-prof', `--cpu-prof-dir=${options.cpuProfDir}`)
  return flags
}

/** Embedded or single-replica Postgres mode: one server process we spawn ourselves. */
async function startPanProcess (options: PanOptions): Promise<Target> {
  const secret = randomBytes(30).toString('base64url')
  const dataDir = mkdtempSync(join(tmpdir(), 'pan-bench-'))
  let database: BenchDatabase | undefined
  if (options.mode === 'postgres') {
    const server = postgresServerUrl()
    if (server === undefined) throw new Error('PAN + Postgres needs DATABASE_URL (a Postgres server to create a database on)')
    database = await createDatabase(server)
  }
  const port = await freePort()
  let proc: Spawned | undefined
  const cleanup = async (): Promise<void> => {
    await proc?.stop(20_000)
    await database?.drop()
    rmSync(dataDir, { recursive: true, force: true })
  }
  try {
    proc = start(process.execPath, [...nodeFlags(options), '--import', tsxLoader, serverEntry], {
      cwd: repoRoot,
      env: {
        PATH: process.env.PATH,
        HOME: process.env.HOME,
        ...PAN_BENCH_ENV,
        ...options.env,
        PORT: String(port),
        HOST: '127.0.0.1',
        JWT_SECRET: secret,
        PAN_DATA_DIR: dataDir,
        PAN_REPLICA_ID: 'r1',
        ...(database === undefined ? {} : { DATABASE_URL: database.url })
      }
    })
    const p = proc
    const base = `http://127.0.0.1:${port}`
    await waitUntil(async () => {
      if (p.child.exitCode !== null) throw new Error(`PAN exited before it was ready:\n${p.output()}`)
      const res = await fetch(`${base}/readyz`).catch(() => undefined)
      return res?.status === 200
    }, 'PAN /readyz', 60_000, 200)
    const inspector = await inspectorUrl(p.output)
    const token = (sub: string, role: 'agent' | 'admin' = 'agent'): string => signHs256(secret, { sub, role, name: sub }, 6 * 3600)
    const db = database
    return {
      label: panLabel(options),
      protocol: 'pan',
      wsUrls: [`ws://127.0.0.1:${port}/v1/ws`],
      httpUrls: [base],
      databaseUrl: db?.url,
      processes: async () => [{ role: 'server', pid: p.pid }, ...(db === undefined ? [] : await db.processes())],
      heapAfterGc: async () => [(await heapAfterGc(inspector)).heapUsed],
      token,
      createRooms: async (ids) => { await createRooms(base, token('bench-admin', 'admin'), ids) },
      stop: cleanup,
      logs: () => p.output().slice(-4000)
    }
  } catch (err) {
    await cleanup()
    throw err
  }
}

async function startPanCluster (options: PanOptions): Promise<Target> {
  const replicas = options.replicas ?? 1
  const cluster: Cluster = await startCluster({
    replicas,
    nginx: false,
    readyTimeoutMs: 60_000,
    // As flags, not NODE_OPTIONS: node refuses --cpu-prof there.
    nodeArgs: nodeFlags(options),
    env: { ...PAN_BENCH_ENV, ...options.env }
  })
  const db = attach(new URL(cluster.databaseUrl).pathname.slice(1), cluster.databaseUrl)
  const token = (sub: string, role: 'agent' | 'admin' = 'agent'): string => cluster.token(sub, role, sub, 6 * 3600)
  const inspectors: string[] = []
  try {
    for (const r of cluster.replicas) inspectors.push(await inspectorUrl(() => readFileSync(r.logFile, 'utf8')))
  } catch (err) {
    await db.drop()
    await cluster.stop()
    throw err
  }
  return {
    label: panLabel(options),
    protocol: 'pan',
    wsUrls: cluster.replicas.map((_, i) => cluster.replicaWsUrl(i)),
    httpUrls: cluster.replicas.map((_, i) => cluster.replicaUrl(i)),
    databaseUrl: cluster.databaseUrl,
    processes: async () => [
      ...cluster.replicas.flatMap((r) => r.pid === undefined ? [] : [{ role: 'server' as const, pid: r.pid }]),
      ...(cluster.redis.pid === undefined ? [] : [{ role: 'redis' as const, pid: cluster.redis.pid }]),
      ...await db.processes()
    ],
    heapAfterGc: async () => await Promise.all(inspectors.map(async (url) => (await heapAfterGc(url)).heapUsed)),
    token,
    createRooms: async (ids) => { await createRooms(cluster.replicaUrl(0), token('bench-admin', 'admin'), ids) },
    stop: async () => {
      await db.drop()
      await cluster.stop()
    },
    logs: () => cluster.logTails(20)
  }
}

/** Creates public rooms over REST, 16 requests at a time. */
async function createRooms (base: string, adminToken: string, ids: readonly string[]): Promise<void> {
  let next = 0
  const worker = async (): Promise<void> => {
    while (next < ids.length) {
      const id = ids[next++] as string
      const res = await fetch(`${base}/v1/rooms`, {
        method: 'POST',
        headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
        body: JSON.stringify({ id, name: id, visibility: 'public' })
      })
      if (res.status !== 201 && res.status !== 409) throw new Error(`creating room ${id}: ${res.status} ${await res.text()}`)
    }
  }
  await Promise.all(Array.from({ length: Math.min(16, ids.length) }, worker))
}
