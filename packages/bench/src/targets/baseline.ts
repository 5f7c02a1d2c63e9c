import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { PrivateRedis } from '@pan/cluster'
import { heapAfterGc } from '../heap.ts'
import { freePort, inspectorUrl, start, waitUntil, type Spawned } from '../proc.ts'
import type { Target } from './types.ts'

const tsxLoader = import.meta.resolve('tsx')
const entry = (file: string): string => fileURLToPath(new URL(file, import.meta.url))

/** Starts one node of a bench-owned server (raw ws or Socket.IO) with an inspector for heap readings. */
async function startNode (file: string, env: NodeJS.ProcessEnv): Promise<{ proc: Spawned, port: number, inspector: string }> {
  const port = await freePort()
  const proc = start(process.execPath, ['--inspect=127.0.0.1:0', '--import', tsxLoader, entry(file)], {
    env: { PATH: process.env.PATH, ...env, PORT: String(port) }
  })
  await waitUntil(() => {
    if (proc.child.exitCode !== null) throw new Error(`${file} exited: ${proc.output()}`)
    return /^listening \d+$/m.test(proc.output()) // not the inspector's "Debugger listening on …"
  }, `${file} to listen`, 20_000)
  return { proc, port, inspector: await inspectorUrl(proc.output) }
}

/** The raw `ws` room-broadcast server (one node: the baseline has no cross-node story). */
export async function startRawWs (): Promise<Target> {
  const node = await startNode('./raw-ws.ts', {})
  return {
    label: 'raw ws',
    protocol: 'raw',
    wsUrls: [`ws://127.0.0.1:${node.port}/`],
    httpUrls: [`http://127.0.0.1:${node.port}`],
    processes: async () => [{ role: 'server', pid: node.proc.pid }],
    heapAfterGc: async () => [(await heapAfterGc(node.inspector)).heapUsed],
    token: () => undefined,
    createRooms: async () => {},
    stop: async () => { await node.proc.stop() },
    logs: () => node.proc.output().slice(-4000)
  }
}

/** Socket.IO 4.8 with the Redis adapter on `nodes` nodes sharing one private redis-server. */
export async function startSocketIo (nodes = 1): Promise<Target> {
  const redisDir = mkdtempSync(join(tmpdir(), 'pan-bench-redis-'))
  const redis = await PrivateRedis.start(redisDir)
  const stopRedis = async (): Promise<void> => {
    await redis.stop()
    rmSync(redisDir, { recursive: true, force: true })
  }
  const started: Array<Awaited<ReturnType<typeof startNode>>> = []
  try {
    for (let i = 0; i < nodes; i++) started.push(await startNode('./socketio.ts', { REDIS_URL: redis.url }))
  } catch (err) {
    await Promise.all(started.map(async (n) => { await n.proc.stop() }))
    await stopRedis()
    throw err
  }
  return {
    label: nodes === 1 ? 'Socket.IO' : `Socket.IO ×${nodes}`,
    protocol: 'sio',
    wsUrls: started.map((n) => `ws://127.0.0.1:${n.port}/socket.io/?EIO=4&transport=websocket`),
    httpUrls: started.map((n) => `http://127.0.0.1:${n.port}`),
    processes: async () => [...started.map((n) => ({ role: 'server' as const, pid: n.proc.pid })), { role: 'redis' as const, pid: redis.pid ?? 0 }],
    heapAfterGc: async () => await Promise.all(started.map(async (n) => (await heapAfterGc(n.inspector)).heapUsed)),
    token: () => undefined,
    createRooms: async () => {},
    stop: async () => {
      await Promise.all(started.map(async (n) => { await n.proc.stop() }))
      await stopRedis()
    },
    logs: () => started.map((n) => n.proc.output().slice(-2000)).join('\n')
  }
}
