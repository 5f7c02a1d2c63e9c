import { cpus, totalmem } from 'node:os'
import type { ChaosOptions } from './options.ts'
import type { Anomalies, Figures } from './tally.ts'
import { seconds, type RunEvent } from './timeline.ts'

export interface Machine {
  cpu: string
  cpus: number
  memGiB: number
  node: string
  platform: string
}

/** Everything a run reports: printed as a table, and as one JSON line last. */
export interface Report {
  /** True only when the run completed and lost, duplicated and falsely acked nothing. */
  ok: boolean
  /** Why `ok` is false: checks that failed, or what kept the run from completing. */
  failures: string[]
  options: ChaosOptions
  /** Absent when the run ended before the tally. */
  figures: Figures | undefined
  /** Close codes the agents saw before the tally, code → count. */
  closeCodes: Record<string, number>
  /** Commit-to-delivery latency, ms; absent without a tally. */
  latencyMs: { p50: number, p99: number, max: number } | undefined
  faults: { kills: number, restarts: number, redisRestarts: number }
  /** Phase lengths and the whole run, ms. */
  timings: Record<string, number>
  events: RunEvent[]
  anomalies: Anomalies | undefined
  machine: Machine
  /** The cluster's logs, when kept. */
  logDir: string | undefined
}

export function machine (): Machine {
  const list = cpus()
  return {
    cpu: list[0]?.model.trim() ?? 'unknown',
    cpus: list.length,
    memGiB: Math.round(totalmem() / 2 ** 30 * 10) / 10,
    node: process.version,
    platform: `${process.platform}-${process.arch}`
  }
}

/** The checks that decide the exit code (besides the run completing). */
export function failedChecks (f: Figures): string[] {
  const checks: Array<[keyof Figures, string]> = [
    ['missing', 'owed deliveries never received'],
    ['duplicated', 'messages received more than once (Agent counter)'],
    ['duplicatedSeen', 'messages received more than once (probe count)'],
    ['ackedNotStored', 'acked messages not in Postgres'],
    ['ackWrongSeq', 'acks naming a seq that is another message'],
    ['storedTwice', 'client ids stored twice in a room'],
    ['storedHoles', 'holes in stored seqs'],
    ['phantom', 'received seqs that are not stored']
  ]
  return checks.filter(([key]) => f[key] > 0).map(([key, what]) => `${key} = ${f[key]}: ${what}`)
}

/** The human-readable table (and anomaly evidence), for stdout. */
export function formatReport (r: Report): string {
  const lines: string[] = []
  const row = (label: string, value: string | number, mark = ''): void => { lines.push(`  ${label.padEnd(28)} ${String(value).padStart(10)} ${mark}`) }
  const zero = (n: number): string => (n === 0 ? 'ok' : 'FAIL')
  const o = r.options
  lines.push('', `PAN chaos run: ${o.agents} agents, ${o.rooms} rooms, ${o.replicas} replicas behind nginx (wss)`)
  const f = r.figures
  if (f !== undefined) {
    row('messages sent (unique ids)', f.sent)
    row('acked (unique ids)', f.acked)
    row('stored (Postgres rows)', f.stored)
    row('unacked at end / failed', `${f.unacked} / ${f.failedSends}`)
    row('delivered (unique)', f.delivered)
    row('delivered frames', f.deliveredFrames)
    row('expected deliveries', f.expectedDeliveries)
    row('missing', f.missing, zero(f.missing))
    row('duplicated (agent / probe)', `${f.duplicated} / ${f.duplicatedSeen}`, zero(f.duplicated + f.duplicatedSeen))
    row('acked but not stored', f.ackedNotStored, zero(f.ackedNotStored))
    row('ack with wrong seq', f.ackWrongSeq, zero(f.ackWrongSeq))
    row('stored twice', f.storedTwice, zero(f.storedTwice))
    row('holes in stored seqs', f.storedHoles, zero(f.storedHoles))
    row('phantom deliveries', f.phantom, zero(f.phantom))
    row('gaps / out of order', `${f.gaps} / ${f.outOfOrder}`)
    row('reconnects', f.reconnects)
    row('close codes seen', Object.entries(r.closeCodes).map(([code, n]) => `${code}x${n}`).join(' ') || 'none')
    if (r.latencyMs !== undefined) row('delivery ms p50/p99/max', `${r.latencyMs.p50}/${r.latencyMs.p99}/${r.latencyMs.max}`)
    row('re-sent writes', f.resent)
    row('error frames', f.errorFrames)
  }
  row('replica kills / restarts', `${r.faults.kills} / ${r.faults.restarts}`)
  row('redis restarts', r.faults.redisRestarts)
  for (const [phase, ms] of Object.entries(r.timings)) row(`time: ${phase}`, seconds(ms))
  const m = r.machine
  lines.push(`  machine: ${m.cpus} x ${m.cpu}, ${m.memGiB} GiB, node ${m.node}, ${m.platform}`)
  lines.push(`  faults: ${r.events.filter((e) => e.kind !== 'phase').map((e) => `${seconds(e.at)} ${e.detail}`).join('; ') || 'none'}`)
  if (r.logDir !== undefined) lines.push(`  logs kept in ${r.logDir}`)
  lines.push(...formatAnomalies(r.anomalies))
  lines.push(r.ok ? 'RESULT: PASS' : `RESULT: FAIL\n${r.failures.map((x) => `  - ${x}`).join('\n')}`, '')
  return lines.join('\n')
}

function formatAnomalies (a: Anomalies | undefined): string[] {
  if (a === undefined) return []
  const lines: string[] = []
  for (const m of a.missingByRoom) lines.push(`  missing in ${m.room}: ${m.missing} deliveries, seqs ${m.seqs}, ${m.agents} agents`)
  for (const m of a.missing) {
    lines.push(`    ${m.room} seq ${m.seq} (${m.clientId ?? '?'} from ${m.sender ?? '?'} on ${m.senderReplica ?? '?'}, committed ${m.committedAt ?? '?'}; faults near: ${m.faultsNear.join('; ') || 'none'})`)
    for (const agent of m.agents) lines.push(`      not received by ${agent.agent} (${agent.session})`)
  }
  for (const d of a.duplicates) lines.push(`  duplicate: ${d.agent} ${d.room} seq ${d.seq} first at ${d.firstAt}, again at ${d.copyAt}; sessions ${d.sessions}; faults near: ${d.faultsNear.join('; ') || 'none'}`)
  for (const x of a.ackedNotStored) lines.push(`  bad ack: ${x.agent} ${x.id} acked as ${x.room} seq ${x.seq}: ${x.storedAs}`)
  for (const x of a.storedTwice) lines.push(`  stored twice: ${x.room} ${x.clientId} at seqs ${x.seqs.join(',')}`)
  for (const x of a.storedHoles) lines.push(`  holes: ${x.room} seqs ${x.seqs}`)
  return lines
}
