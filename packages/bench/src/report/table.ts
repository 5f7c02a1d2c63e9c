import type { MachineInfo } from '../machine.ts'
import type { ScenarioResult, TargetResult } from '../scenarios/types.ts'

/** A whole run as saved to JSON. */
export interface BenchRun {
  startedAt: string
  durationSec: number
  quick: boolean
  machine: MachineInfo
  results: ScenarioResult[]
}

interface Column {
  key: string
  header: string
  digits: number
  /** Add a "× baseline" column after this one. */
  ratio?: boolean
}

const LADDER: Column[] = [
  { key: 'ceilingMsgsPerSec', header: 'ceiling msg/s', digits: 0 },
  { key: 'ceilingDeliveriesPerSec', header: 'ceiling deliveries/s', digits: 0, ratio: true },
  { key: 'p99AtCeilingMs', header: 'p99 at ceiling ms', digits: 1 },
  { key: 'usPerDelivery', header: 'CPU µs/delivery', digits: 1, ratio: true },
  { key: 'maxClientCpu', header: 'max client CPU', digits: 2 }
]

const COLUMNS: Record<string, Column[]> = {
  fanout: LADDER,
  cross: LADDER,
  pairs: [
    { key: 'ceilingMsgsPerSec', header: 'ceiling msg/s', digits: 0, ratio: true },
    { key: 'p99AtCeilingMs', header: 'p99 at ceiling ms', digits: 1 },
    { key: 'usPerMessage', header: 'CPU µs/message', digits: 0, ratio: true },
    { key: 'usPerDelivery', header: 'CPU µs/delivery', digits: 1 },
    { key: 'maxClientCpu', header: 'max client CPU', digits: 2 }
  ],
  durable: [
    { key: 'maxAckedPerSec', header: 'max acked/s', digits: 0, ratio: true },
    { key: 'halfRate', header: 'half rate msg/s', digits: 0 },
    { key: 'ackP50AtHalfMs', header: 'ack p50 at half ms', digits: 1 },
    { key: 'ackP99AtHalfMs', header: 'ack p99 at half ms', digits: 1, ratio: true },
    { key: 'usPerMessageAtHalf', header: 'CPU µs/message', digits: 0, ratio: true },
    { key: 'ackP99AtFixedMs', header: 'ack p99 at 5,000/s ms', digits: 1, ratio: true },
    { key: 'maxClientCpu', header: 'max client CPU', digits: 2 }
  ],
  idle: [
    { key: 'connections', header: 'connections', digits: 0 },
    { key: 'nodes', header: 'nodes', digits: 0 },
    { key: 'heapPerConnKB', header: 'heap KB/conn', digits: 2, ratio: true },
    { key: 'rssPerConnKB', header: 'RSS KB/conn', digits: 2, ratio: true },
    { key: 'connectPerSec', header: 'connect+join/s', digits: 0, ratio: true },
    { key: 'cpuUsPerConnect', header: 'CPU µs/connect', digits: 0, ratio: true },
    { key: 'clientCpuUsPerConnect', header: 'client CPU µs/connect', digits: 0 },
    { key: 'clientCores', header: 'client cores', digits: 2 },
    { key: 'online', header: 'online in presence', digits: 0 }
  ],
  history: [
    { key: 'reqPerSec', header: 'req/s', digits: 0 },
    { key: 'p50Ms', header: 'p50 ms', digits: 2 },
    { key: 'p99Ms', header: 'p99 ms', digits: 2, ratio: true },
    { key: 'maxMs', header: 'max ms', digits: 1 },
    { key: 'usPerRequest', header: 'CPU µs/request', digits: 0, ratio: true },
    { key: 'non2xx', header: 'failed', digits: 0 },
    { key: 'indexUsed', header: 'index used', digits: 0 }
  ]
}

function cell (value: number | string | undefined, digits: number): string {
  if (value === undefined) return '–'
  if (typeof value === 'string') return value
  return value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits })
}

function ratio (value: number | string | undefined, base: number | string | undefined): string {
  if (typeof value !== 'number' || typeof base !== 'number' || base === 0) return '–'
  return `${(value / base).toFixed(2)}×`
}

/** One scenario as a Markdown table; every figure with a ratio column beside it against the baseline. */
export function scenarioTable (s: ScenarioResult): string {
  const columns = COLUMNS[s.id] ?? []
  const base = s.targets.find((t) => t.label === s.baseline)
  const header = ['target']
  for (const c of columns) {
    header.push(c.header)
    if (c.ratio === true) header.push(`× ${s.baseline}`)
  }
  const lines = [`| ${header.join(' | ')} |`, `|${header.map((_, i) => i === 0 ? '---' : '---:').join('|')}|`]
  for (const t of s.targets) lines.push(row(t, columns, base))
  return lines.join('\n')
}

function row (t: TargetResult, columns: Column[], base: TargetResult | undefined): string {
  if (t.skipped !== undefined || t.error !== undefined) {
    const why = t.skipped !== undefined ? `skipped: ${t.skipped}` : `failed: ${t.error ?? ''}`
    return `| ${t.label} | ${why.replaceAll('|', '\\|')} |`
  }
  const cells = [t.label]
  // A ladder whose every step passed never found its ceiling: the figure is a lower bound.
  const unbounded = t.steps.length > 0 && t.steps.at(-1)?.pass === true
  for (const c of columns) {
    const text = cell(t.summary[c.key], c.digits)
    cells.push(unbounded && c.key.startsWith('ceiling') ? `≥ ${text}` : text)
    if (c.ratio === true) cells.push(ratio(t.summary[c.key], base?.summary[c.key]))
  }
  return `| ${cells.join(' | ')} |`
}

export function machineLine (run: BenchRun): string {
  const m = run.machine
  const versions = Object.entries(m.versions).map(([k, v]) => `${k} ${v}`).join(', ')
  return `${m.cpu} × ${m.cores} cores, ${m.memoryGiB} GiB, load average at start ${m.loadavg}; Node ${m.node}; ${versions}`
}

/** The whole run as text: machine, then one table per scenario. */
export function renderTables (run: BenchRun): string {
  const parts = [`Machine: ${machineLine(run)}`, `Run: ${run.startedAt}, ${run.durationSec} s${run.quick ? ' (--quick)' : ''}`]
  for (const s of run.results) parts.push(`\n### ${s.title}\n\n${scenarioTable(s)}`)
  return parts.join('\n')
}
