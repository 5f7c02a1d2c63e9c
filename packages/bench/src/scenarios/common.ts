import { addresses, ClientPool } from '../client/pool.ts'
import type { ConnSpec } from '../client/messages.ts'
import type { Target } from '../targets/types.ts'
import { startPan, type PanOptions } from '../targets/pan.ts'
import { ceilingOf, medianOf } from './ladder.ts'
import type { RunContext, StepRow, TargetResult } from './types.ts'

/** Where each connection goes: its room and the node (replica) it connects to. */
export interface Layout {
  rooms: readonly string[]
  conns: ReadonlyArray<{ room: string, node: number }>
}

/** Client specs for a layout on a target; PAN connections are users `<prefix><i>`, one each. */
export function specsFor (target: Target, layout: Layout, userPrefix = 'u'): ConnSpec[] {
  const addrs = addresses(layout.conns.length)
  return layout.conns.map((c, i) => ({
    url: target.wsUrls[c.node % target.wsUrls.length] as string,
    room: c.room,
    token: target.token(`${userPrefix}${i}`),
    localAddress: addrs[i] as string
  }))
}

/**
 * Starts a target, runs `body` against it with a fresh pool of `workers` client processes, and
 * always stops both. A failure becomes the result's `error` rather than ending the whole run.
 */
export async function onTarget (
  ctx: RunContext,
  label: string,
  startTarget: () => Promise<Target>,
  workers: number,
  body: (target: Target, pool: ClientPool) => Promise<Omit<TargetResult, 'label'>>
): Promise<TargetResult> {
  if (ctx.only !== undefined && !ctx.only.some((part) => label.toLowerCase().includes(part))) {
    return { label, skipped: 'not selected (--only)', steps: [], summary: {} }
  }
  ctx.log(`- ${label}: starting`)
  let target: Target | undefined
  const pool = ClientPool.start(workers)
  try {
    target = await startTarget()
    return { label, ...await body(target, pool) }
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err)
    ctx.log(`  ${label} failed: ${message}${target === undefined ? '' : `\n${target.logs()}`}`)
    return { label, error: message.split('\n')[0] ?? message, steps: [], summary: {} }
  } finally {
    await pool.closeConnections().catch(() => {})
    await pool.stop()
    await target?.stop().catch((err: unknown) => { ctx.log(`  stopping ${label}: ${String(err)}`) })
  }
}

/** Connections that may fail to open (logged and counted) before a target's run is called off. */
const TOLERATED_FAILURES = 0.01

/**
 * Opens the layout's connections and resolves with how many are up. Up to 1 % may fail (an
 * overloaded neighbour on a shared machine); more is an error. With `budgetMs`, connections the
 * budget left untried are not an error either: the count says how many there are.
 */
export async function connectAll (ctx: RunContext, target: Target, pool: ClientPool, layout: Layout, budgetMs?: number): Promise<number> {
  const started = Date.now()
  const r = await pool.connect(target.protocol, specsFor(target, layout), budgetMs === undefined ? {} : { budgetMs })
  if (r.failed > TOLERATED_FAILURES * layout.conns.length) throw new Error(`${r.failed} of ${layout.conns.length} connections failed: ${r.errors.join('; ')}`)
  if (r.skipped > 0 && budgetMs === undefined) throw new Error(`${r.skipped} of ${layout.conns.length} connections not opened in time`)
  ctx.log(`  ${target.label}: ${r.opened} connections joined in ${((Date.now() - started) / 1000).toFixed(1)} s` +
    `${r.failed > 0 ? ` (${r.failed} failed: ${r.errors[0] ?? ''})` : ''}${r.skipped > 0 ? ` (${r.skipped} left untried: connect budget ${(budgetMs ?? 0) / 1000} s)` : ''}`)
  return r.opened
}

/** PAN options with the run's profiling folder. */
export function pan (ctx: RunContext, options: PanOptions): PanOptions {
  return ctx.cpuProfDir === undefined ? options : { ...options, cpuProfDir: ctx.cpuProfDir }
}

export const startPanWith = (ctx: RunContext, options: PanOptions) => async (): Promise<Target> => await startPan(pan(ctx, options))

/** Headline figures of a ladder: the ceiling (last passing step) and the steady CPU cost. */
export function ladderSummary (rows: readonly StepRow[]): Record<string, number> {
  const top = ceilingOf(rows)
  const passing = rows.filter((r) => r.pass)
  const costRows = passing.length > 0 ? passing : rows.slice(0, 1)
  return {
    ceilingMsgsPerSec: top?.msgsPerSec ?? 0,
    ceilingDeliveriesPerSec: top?.deliveredPerSec ?? 0,
    p99AtCeilingMs: top?.latency.p99 ?? 0,
    usPerDelivery: medianOf(costRows.map((r) => r.usPerDelivery)),
    usPerMessage: medianOf(costRows.map((r) => r.usPerMessage)),
    maxClientCpu: Math.max(0, ...rows.flatMap((r) => r.clientCpu))
  }
}
