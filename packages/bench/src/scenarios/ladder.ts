import type { ClientPool } from '../client/pool.ts'
import type { Load } from '../client/messages.ts'
import { cpuWindow } from '../cpu.ts'
import { percentiles } from '../hist.ts'
import type { Target } from '../targets/types.ts'
import { sleep } from '../proc.ts'
import type { StepRow } from './types.ts'

export interface LadderOptions {
  /** Global indices of the sending connections. */
  senders: readonly number[]
  /** Deliveries each message should make (members of its room, the sender included). */
  membersPerRoom: number
  /** Per-sender rates (msgs/s), climbed in order until a step fails. */
  rates: readonly number[]
  stepMs: number
  /** p99 bound of a passing step, ms. Default 100. */
  p99BoundMs?: number
  log: (line: string) => void
}

let stepCounter = 1
/** Further tries of a failing ladder step before the ladder stops. */
const RETRIES = 2

/** An unmeasured second of `load` (JIT, pools, caches); its late frames count as stale in the next step. */
export async function warmup (pool: ClientPool, senders: readonly number[], load: Load): Promise<void> {
  await pool.run(stepCounter++, senders, load, 1000, 1000)
}

/** One measured window of `load` on the pool's connections, with the target's CPU around it. */
export async function measure (target: Target, pool: ClientPool, senders: readonly number[], membersPerRoom: number, load: Load, durationMs: number, offered: number, p99BoundMs = 100, graceMs = 2000): Promise<StepRow> {
  const window = await cpuWindow(target.processes)
  const r = await pool.run(stepCounter++, senders, load, durationMs, graceMs)
  const cpu = await window.end()
  const total = cpu.server + cpu.postgres + cpu.redis
  const expected = r.sent * membersPerRoom
  const latency = percentiles(r.deliveries)
  const seconds = durationMs / 1000
  return {
    offered,
    sent: r.sent,
    msgsPerSec: r.sent / seconds,
    acked: r.acked,
    // Closed loop: the acks of the last window arrive in the drain, so divide by the whole wall time.
    ackedPerSec: r.acked / (load.mode === 'window' ? r.wallMs / 1000 : seconds),
    delivered: r.delivered,
    expected,
    deliveredPerSec: r.delivered / seconds,
    latency,
    ack: percentiles(r.acks),
    cpu,
    usPerDelivery: r.delivered > 0 ? total * 1e6 / r.delivered : 0,
    usPerMessage: r.sent > 0 ? total * 1e6 / r.sent : 0,
    clientCpu: r.clientCpu,
    errors: r.errors,
    errorSamples: r.errorSamples,
    closes: r.closes,
    pass: r.sent > 0 && latency.p99 < p99BoundMs && r.delivered >= 0.95 * expected && r.errors === 0
  }
}

/**
 * Climbs the per-sender rates, one bounded step each, and stops at the first failing step: the
 * ceiling is the last passing one. A 1 s warm-up at the lowest rate comes first (JIT, pools).
 */
export async function ladder (target: Target, pool: ClientPool, options: LadderOptions): Promise<StepRow[]> {
  await warmup(pool, options.senders, { mode: 'rate', perSenderRate: options.rates[0] ?? 1 })
  const rows: StepRow[] = []
  for (const rate of options.rates) {
    const offered = rate * options.senders.length
    const step = async (): Promise<StepRow> => {
      const row = await measure(target, pool, options.senders, options.membersPerRoom, { mode: 'rate', perSenderRate: rate }, options.stepMs, offered, options.p99BoundMs)
      options.log(`  ${target.label}: offered ${offered} msg/s → ${fmt(row.deliveredPerSec)} deliveries/s (${pct(row.delivered, row.expected)}), p50 ${row.latency.p50} ms p99 ${row.latency.p99} ms, ` +
        `${row.usPerDelivery.toFixed(1)} µs/delivery (${split(row)}), clients ${row.clientCpu.map((c) => `${Math.round(c * 100)}%`).join('/')}${row.errors > 0 ? `, ${row.errors} errors ${row.errorSamples[0] ?? ''}` : ''}${row.pass ? '' : ' FAIL'}`)
      return row
    }
    let row = await step()
    // The machine is shared: retries keep a passing-load step from failing on a neighbour's
    // burst. If every retry fails too, the first try is kept: a retry starts behind the backlog.
    for (let retry = 0; retry < RETRIES && !row.pass; retry++) {
      await sleep(1000)
      const again = await step()
      if (again.pass) row = again
      row.retried = true
    }
    rows.push(row)
    if (!row.pass) break
  }
  return rows
}

export const fmt = (n: number): string => Math.round(n).toLocaleString('en-US')
export const pct = (a: number, b: number): string => b === 0 ? '–' : `${(100 * a / b).toFixed(1)}%`

/** The last passing step, or undefined when none passed. */
export function ceilingOf (rows: readonly StepRow[]): StepRow | undefined {
  return rows.filter((r) => r.pass).at(-1)
}

/** Median of the passing steps' µs per delivery (steady in load; the ceilings are not). */
export function medianOf (values: readonly number[]): number {
  if (values.length === 0) return 0
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)] as number
}

/** Where a message's CPU went: server, Postgres, Redis, µs per message sent (zeros left out). */
function split (row: StepRow): string {
  const per = (s: number): string => (row.sent > 0 ? s * 1e6 / row.sent : 0).toFixed(0)
  const parts = [`server ${per(row.cpu.server)}`]
  if (row.cpu.postgres > 0) parts.push(`postgres ${per(row.cpu.postgres)}`)
  if (row.cpu.redis > 0) parts.push(`redis ${per(row.cpu.redis)}`)
  return `${parts.join(' + ')} µs/message`
}
