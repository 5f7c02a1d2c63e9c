import t from 'tap'
import { durableOn } from '../src/scenarios/durable.ts'
import type { RunContext } from '../src/scenarios/types.ts'
import { startPan } from '../src/targets/pan.ts'

// PAN on real Postgres needs a server. Locally, no DATABASE_URL means skip; in CI, where .ci/run
// always sets it, a missing one is a broken pipeline and must not pass as a skip.
const databaseUrl = process.env.DATABASE_URL ?? ''
if (databaseUrl === '' && process.env.CI !== undefined && process.env.CI !== '') {
  throw new Error('DATABASE_URL is not set, but CI is: the Postgres bench test cannot run')
}
const skip = databaseUrl === '' ? 'DATABASE_URL is not set (PAN + Postgres needs a Postgres server)' : false

t.test('durable sends on PAN + Postgres come back acked and measured', { skip }, async (t) => {
  const ctx: RunContext = { quick: true, databaseUrl, cpuProfDir: undefined, log: () => {} }
  const r = await durableOn(ctx, 'PAN + Postgres', async () => await startPan({ mode: 'postgres' }), { senders: 4, rooms: 2, windows: [1], stepMs: 1000, fixedRate: 40 })
  t.equal(r.error, undefined, 'ran to the end')
  t.equal(r.steps.length, 3, 'a closed-loop step, the open loop at half and the one at the fixed rate')
  for (const step of r.steps) {
    t.ok(step.acked > 0, 'sends were acked')
    t.equal(step.errors, 0, 'no error frames')
    t.equal(step.ack.count, step.acked, 'every ack is in the histogram')
    t.ok(step.delivered > 0, 'messages were delivered')
  }
  t.ok(Number(r.summary.maxAckedPerSec) > 0, 'a throughput came back')
  t.ok(Number(r.summary.ackP99AtFixedMs) > 0, 'and the ack latency at the fixed rate')
})
