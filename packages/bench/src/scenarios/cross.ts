import { startSocketIo } from '../targets/baseline.ts'
import { connectAll, ladderSummary, onTarget, startPanWith, type Layout } from './common.ts'
import { ladder } from './ladder.ts'
import type { RunContext, ScenarioResult, TargetResult } from './types.ts'

/**
 * Cross-replica fan-out: the fan-out room with its members split evenly over two nodes and
 * senders on both, so every message crosses Redis. PAN cluster (2 replicas, Postgres, Redis)
 * against Socket.IO on two nodes with the Redis adapter.
 */
export async function crossReplica (ctx: RunContext): Promise<ScenarioResult> {
  const members = ctx.quick ? 100 : 1000
  const senderCount = ctx.quick ? 4 : 10
  const rates = ctx.quick ? [5, 20] : [1, 2, 5, 10, 20, 40]
  const stepMs = ctx.quick ? 2000 : 3000
  const layout: Layout = { rooms: ['cross'], conns: Array.from({ length: members }, (_, i) => ({ room: 'cross', node: i % 2 })) }
  // Alternate the senders' nodes: index parity is the node.
  const senders = Array.from({ length: senderCount }, (_, i) => Math.floor(i * members / senderCount / 2) * 2 + (i % 2))
  const run = async (label: string, start: Parameters<typeof onTarget>[2]): Promise<TargetResult> =>
    await onTarget(ctx, label, start, 2, async (target, pool) => {
      await target.createRooms(layout.rooms)
      const joined = await connectAll(ctx, target, pool, layout)
      const steps = await ladder(target, pool, { senders, membersPerRoom: joined, rates, stepMs, log: ctx.log })
      return { steps, summary: ladderSummary(steps) }
    })
  const targets: TargetResult[] = [await run('Socket.IO ×2', async () => await startSocketIo(2))]
  if (ctx.databaseUrl === undefined) targets.push({ label: 'PAN cluster ×2', skipped: 'DATABASE_URL is not set', steps: [], summary: {} })
  else targets.push(await run('PAN cluster ×2', startPanWith(ctx, { mode: 'cluster', replicas: 2 })))
  return {
    id: 'cross',
    title: `Cross-replica fan-out: 1 room, ${members} members over 2 nodes, ${senderCount} senders on both`,
    method: 'As the fan-out, with members alternating between two nodes (clients connect straight to each node) and senders on both, ' +
      'so every message reaches half of its members through Redis pub/sub. Socket.IO: two nodes, @socket.io/redis-adapter on a private ' +
      'redis-server. PAN: two replicas on a fresh Postgres database and a private redis-server (@pan/cluster, no nginx). Target CPU = ' +
      'both nodes + Redis (+ Postgres for PAN).',
    baseline: 'Socket.IO ×2',
    targets
  }
}
