import { startRawWs, startSocketIo } from '../targets/baseline.ts'
import type { Target } from '../targets/types.ts'
import { connectAll, ladderSummary, onTarget, startPanWith, type Layout } from './common.ts'
import { ladder } from './ladder.ts'
import type { RunContext, ScenarioResult, TargetResult } from './types.ts'

export interface FanoutShape {
  members: number
  senders: number
  /** Per-sender rates, msgs/s, climbed until a step fails. */
  rates: readonly number[]
  stepMs: number
}

/** The fan-out ladder on one target: one room, `members` joined, `senders` of them sending. */
export async function fanoutOn (ctx: RunContext, label: string, start: () => Promise<Target>, shape: FanoutShape): Promise<TargetResult> {
  const layout: Layout = { rooms: ['fanout'], conns: Array.from({ length: shape.members }, () => ({ room: 'fanout', node: 0 })) }
  // Senders spread over the member list (and so over the client workers).
  const senders = Array.from({ length: shape.senders }, (_, i) => Math.floor(i * shape.members / shape.senders))
  return await onTarget(ctx, label, start, 2, async (target, pool) => {
    await target.createRooms(layout.rooms)
    const joined = await connectAll(ctx, target, pool, layout)
    const steps = await ladder(target, pool, { senders, membersPerRoom: joined, rates: shape.rates, stepMs: shape.stepMs, log: ctx.log })
    return { steps, summary: ladderSummary(steps) }
  })
}

/**
 * Fan-out: one room, many members, a few senders at a climbing rate. Every member (the senders
 * included) receives every message. Ceiling: the last step with p99 < 100 ms and ≥ 95 % delivered.
 */
export async function fanout (ctx: RunContext): Promise<ScenarioResult> {
  const shape: FanoutShape = ctx.quick
    ? { members: 100, senders: 5, rates: [5, 20], stepMs: 2000 }
    : { members: 1000, senders: 10, rates: [1, 2, 5, 10, 20, 40], stepMs: 3000 }
  const targets: TargetResult[] = []
  targets.push(await fanoutOn(ctx, 'raw ws', startRawWs, shape))
  targets.push(await fanoutOn(ctx, 'Socket.IO', async () => await startSocketIo(1), shape))
  targets.push(await fanoutOn(ctx, 'PAN embedded', startPanWith(ctx, { mode: 'embedded' }), shape))
  return {
    id: 'fanout',
    title: `Fan-out: 1 room, ${shape.members} members, ${shape.senders} senders`,
    method: `${shape.members} connections joined to one room (PAN: authenticated, one user each); ${shape.senders} of them send at a climbing rate ` +
      `(${shape.rates.map((r) => r * shape.senders).join(', ')} msg/s in total), ${shape.stepMs / 1000} s per step; every member, the sender included, ` +
      'receives every message. Ceiling = the last step with p99 < 100 ms, ≥ 95 % delivered and no errors. CPU per delivery = target CPU ' +
      '/ message frames delivered, median over the passing steps. PAN embedded: PGlite and the in-process bus in the one process ' +
      '(the cross-replica scenario measures the cluster).',
    baseline: 'raw ws',
    targets
  }
}
