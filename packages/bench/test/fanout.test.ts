import t, { type Test } from 'tap'
import { fanoutOn, type FanoutShape } from '../src/scenarios/fanout.ts'
import type { RunContext, TargetResult } from '../src/scenarios/types.ts'
import { startRawWs } from '../src/targets/baseline.ts'
import { startPan } from '../src/targets/pan.ts'

// Tiny and without timing thresholds: this checks that the tool measures, not how fast anything is.
const shape: FanoutShape = { members: 20, senders: 2, rates: [5], stepMs: 1000 }
const ctx: RunContext = { quick: true, databaseUrl: undefined, cpuProfDir: undefined, log: () => {} }

function assertSane (t: Test, r: TargetResult): void {
  t.equal(r.error, undefined, 'ran to the end')
  t.equal(r.steps.length, 1, 'one step')
  const step = r.steps[0]
  if (step === undefined) return
  t.ok(step.sent > 0, 'messages were sent')
  t.ok(step.delivered > 0, 'messages were delivered')
  t.ok(step.delivered <= step.expected, 'no more deliveries than members × messages')
  t.equal(step.errors, 0, 'no error frames')
  t.strictSame(step.closes, {}, 'no connection closed')
  t.equal(step.latency.count, step.delivered, 'every delivery is in the histogram')
  t.ok(step.latency.p99 > 0, 'a p99 came back')
  t.ok(Number.isFinite(step.cpu.server) && step.cpu.server >= 0, 'server CPU was sampled (10 ms ticks: may round to 0)')
  t.ok(step.clientCpu.length === 2 && step.clientCpu.every((c) => c > 0), 'both client workers report their CPU')
}

t.test('raw ws fan-out', async (t) => {
  assertSane(t, await fanoutOn(ctx, 'raw ws', startRawWs, shape))
})

t.test('PAN embedded fan-out', async (t) => {
  const r = await fanoutOn(ctx, 'PAN embedded', async () => await startPan({ mode: 'embedded' }), shape)
  assertSane(t, r)
  t.equal(r.steps[0]?.acked, r.steps[0]?.sent, 'every send acked')
})
