import { startRawWs, startSocketIo } from '../targets/baseline.ts'
import { connectAll, ladderSummary, onTarget, startPanWith, type Layout } from './common.ts'
import { ladder } from './ladder.ts'
import type { RunContext, ScenarioResult, TargetResult } from './types.ts'

/**
 * Pairs: many rooms of two, everyone sending. Throughput of many small conversations rather
 * than one loud room; for PAN every message is committed to Postgres and published on Redis.
 */
export async function pairs (ctx: RunContext): Promise<ScenarioResult> {
  const roomCount = ctx.quick ? 50 : 2500
  const rates = ctx.quick ? [1, 4] : [0.4, 1, 2, 4]
  const stepMs = ctx.quick ? 2000 : 4000
  const rooms = Array.from({ length: roomCount }, (_, i) => `p${i}`)
  const layout: Layout = { rooms, conns: rooms.flatMap((room) => [{ room, node: 0 }, { room, node: 0 }]) }
  const senders = layout.conns.map((_, i) => i)
  const run = async (label: string, start: Parameters<typeof onTarget>[2]): Promise<TargetResult> =>
    await onTarget(ctx, label, start, 2, async (target, pool) => {
      await target.createRooms(rooms)
      await connectAll(ctx, target, pool, layout)
      const steps = await ladder(target, pool, { senders, membersPerRoom: 2, rates, stepMs, log: ctx.log })
      return { steps, summary: ladderSummary(steps) }
    })
  const targets: TargetResult[] = []
  targets.push(await run('raw ws', startRawWs))
  targets.push(await run('Socket.IO', async () => await startSocketIo(1)))
  if (ctx.databaseUrl === undefined) targets.push({ label: 'PAN cluster ×1', skipped: 'DATABASE_URL is not set', steps: [], summary: {} })
  else targets.push(await run('PAN cluster ×1', startPanWith(ctx, { mode: 'cluster', replicas: 1 })))
  return {
    id: 'pairs',
    title: `Pairs: ${roomCount} rooms of 2, everyone sending`,
    method: `${roomCount * 2} connections in ${roomCount} rooms of two; every connection sends at a climbing rate ` +
      `(${rates.map((r) => r * roomCount * 2).join(', ')} msg/s in total), ${stepMs / 1000} s per step; both members receive each message. ` +
      'PAN: one replica on Postgres and Redis, so every message is committed (group commit) before it is acked and fanned out. ' +
      'CPU per message = target CPU (server, plus Postgres backends and WAL writer, plus Redis) / messages sent.',
    baseline: 'raw ws',
    targets
  }
}
