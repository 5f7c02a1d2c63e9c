import { startRawWs, startSocketIo } from '../targets/baseline.ts'
import type { Target } from '../targets/types.ts'
import type { ClientPool } from '../client/pool.ts'
import { cpuWindow } from '../cpu.ts'
import { cpuSeconds, rssBytes, sleep } from '../proc.ts'
import { connectAll, onTarget, startPanWith, type Layout } from './common.ts'
import type { RunContext, ScenarioResult, TargetResult } from './types.ts'

/** Connections per client worker: far from the 20k open files a process may have. */
const PER_WORKER = 7000

/**
 * Idle capacity: N authenticated connections, each joined to a room of 100, doing nothing.
 * Heap per connection = (V8 heap after a forced full GC with N open − the same before) / N,
 * read through each server's inspector; RSS per connection likewise from /proc.
 */
export async function idle (ctx: RunContext): Promise<ScenarioResult> {
  const n = ctx.quick ? 500 : 19_000
  const clusterN = ctx.quick ? 600 : 50_000
  const layoutOf = (count: number): Layout => {
    const rooms = Array.from({ length: Math.ceil(count / 100) }, (_, i) => `i${i}`)
    return { rooms, conns: Array.from({ length: count }, (_, i) => ({ room: rooms[Math.floor(i / 100)] as string, node: i })) }
  }
  // Each target gets at most this long to connect; PAN's per-connection database writes make it the limiter.
  const budgetMs = ctx.quick ? 30_000 : 75_000
  // 50,000 over 3 replicas took 69 s at 721 conn/s in a quiet run: headroom for a noisy one.
  const clusterBudgetMs = ctx.quick ? 30_000 : 100_000
  const measureIdle = (requested: number, budgetMs: number) => async (target: Target, pool: ClientPool): Promise<Omit<TargetResult, 'label'>> => {
    const layout = layoutOf(requested)
    await target.createRooms(layout.rooms)
    const servers = (await target.processes()).filter((p) => p.role === 'server')
    const heapBefore = sumOf(await target.heapAfterGc())
    const rssBefore = sumOf(servers.map((p) => rssBytes(p.pid)))
    const cpu = await cpuWindow(target.processes)
    const clientCpuBefore = sumOf(pool.pids.map(cpuSeconds))
    const started = Date.now()
    const count = await connectAll(ctx, target, pool, layout, budgetMs)
    const connectSec = (Date.now() - started) / 1000
    const used = await cpu.end()
    const clientCpu = sumOf(pool.pids.map(cpuSeconds)) - clientCpuBefore
    if (count === 0) throw new Error('no connection opened')
    await sleep(2000)
    const heapAfter = sumOf(await target.heapAfterGc())
    const rssAfter = sumOf(servers.map((p) => rssBytes(p.pid)))
    const online = await onlineInPresence(target, layout.rooms)
    const summary = {
      connections: count,
      requested,
      nodes: target.wsUrls.length,
      heapPerConnKB: (heapAfter - heapBefore) / count / 1024,
      rssPerConnKB: (rssAfter - rssBefore) / count / 1024,
      heapTotalMB: heapAfter / 2 ** 20,
      connectPerSec: count / connectSec,
      // Steadier than the rate on a shared machine: what each connect + join costs the target.
      cpuUsPerConnect: (used.server + used.postgres + used.redis) / count * 1e6,
      // The load generator's side of each handshake; on 2 cores it bounds the connect rate as much as the target does.
      clientCpuUsPerConnect: clientCpu / count * 1e6,
      clientCores: clientCpu / connectSec,
      ...(online === undefined ? {} : { online })
    }
    ctx.log(`  ${target.label}: ${count} idle → heap ${summary.heapPerConnKB.toFixed(2)} KB/conn, RSS ${summary.rssPerConnKB.toFixed(2)} KB/conn, ${Math.round(summary.connectPerSec)} conn/s, ${Math.round(summary.cpuUsPerConnect)} µs CPU/connect (${perConnect(used, count)}), clients ${Math.round(summary.clientCpuUsPerConnect)} µs/connect (${summary.clientCores.toFixed(2)} cores)` +
      (online === undefined ? '' : `, ${online} online in presence${online === count ? '' : ' (NOT the connections opened)'}`))
    return { steps: [], summary }
  }
  const workersFor = (count: number): number => Math.max(2, Math.ceil(count / PER_WORKER))
  const targets: TargetResult[] = []
  targets.push(await onTarget(ctx, 'raw ws', startRawWs, workersFor(n), measureIdle(n, budgetMs)))
  targets.push(await onTarget(ctx, 'Socket.IO', async () => await startSocketIo(1), workersFor(n), measureIdle(n, budgetMs)))
  targets.push(await onTarget(ctx, 'PAN embedded', startPanWith(ctx, { mode: 'embedded' }), workersFor(n), measureIdle(n, budgetMs)))
  if (ctx.databaseUrl === undefined) targets.push({ label: 'PAN cluster ×3', skipped: 'DATABASE_URL is not set', steps: [], summary: {} })
  else targets.push(await onTarget(ctx, 'PAN cluster ×3', startPanWith(ctx, { mode: 'cluster', replicas: 3 }), workersFor(clusterN), measureIdle(clusterN, clusterBudgetMs)))
  return {
    id: 'idle',
    title: `Idle capacity: ${n.toLocaleString('en-US')} joined connections on one node, ${clusterN.toLocaleString('en-US')} over 3 PAN replicas`,
    method: `${n} connections (PAN: one authenticated user each, joined to a room of 100) held open and idle, opened from ` +
      `at most ${budgetMs / 1000} s of connecting per target (${clusterBudgetMs / 1000} s for the cluster; a target that is slower holds fewer: see "connections"), ` +
      `${workersFor(n)} client processes on distinct 127.0.0.X source addresses. Heap per connection = V8 heap in use after two forced ` +
      'full GCs (HeapProfiler.collectGarbage through the inspector) with the connections open, minus the same before, divided by the ' +
      `count; RSS per connection likewise from /proc. The cluster variant spreads ${clusterN} connections over 3 replicas (Postgres, Redis) ` +
      'and sums the replicas. "online" (PAN) sums every room\'s onlineCount from GET /v1/rooms/:room, asked of the replicas in turn: ' +
      'each connection is its own user, so it must equal the connections opened. CPU per connect = the target\'s CPU (servers, plus Postgres and Redis for the cluster) while connecting, divided by the connections opened; ' +
      'client CPU per connect likewise for the client processes (all of them, from /proc), with the cores they kept busy: the two add up to the machine\'s 2 cores when connecting is CPU-bound.',
    baseline: 'raw ws',
    targets
  }
}

/**
 * PAN only: the rooms' `onlineCount` summed, read round-robin from every replica's REST API.
 * Every connection is its own user, so a correct presence counts each open connection once.
 */
async function onlineInPresence (target: Target, rooms: readonly string[]): Promise<number | undefined> {
  const token = target.token('bench-admin', 'admin')
  if (token === undefined) return undefined
  let online = 0
  for (let i = 0; i < rooms.length; i += 20) {
    const counts = await Promise.all(rooms.slice(i, i + 20).map(async (room, j) => {
      const base = target.httpUrls[(i + j) % target.httpUrls.length] as string
      const res = await fetch(`${base}/v1/rooms/${room}`, { headers: { authorization: `Bearer ${token}` } })
      if (res.status !== 200) throw new Error(`GET /v1/rooms/${room} answered ${res.status}`)
      return (await res.json() as { onlineCount: number }).onlineCount
    }))
    online += sumOf(counts)
  }
  return online
}

function sumOf (values: readonly number[]): number {
  return values.reduce((a, b) => a + b, 0)
}

/** Where a connect's CPU went: server, Postgres, Redis, µs per connection (zeros left out). */
function perConnect (used: { server: number, postgres: number, redis: number }, count: number): string {
  const parts = [`server ${Math.round(used.server * 1e6 / count)}`]
  if (used.postgres > 0) parts.push(`postgres ${Math.round(used.postgres * 1e6 / count)}`)
  if (used.redis > 0) parts.push(`redis ${Math.round(used.redis * 1e6 / count)}`)
  return parts.join(' + ')
}
