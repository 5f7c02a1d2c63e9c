import { parseArgs } from 'node:util'

export const SCENARIOS = ['fanout', 'cross', 'pairs', 'durable', 'idle', 'history'] as const
export type ScenarioId = typeof SCENARIOS[number]

export interface BenchOptions {
  scenarios: ScenarioId[]
  quick: boolean
  /** Folder for V8 CPU profiles of the PAN servers (`--cpu-prof`). */
  cpuProf: string | undefined
  /** Where the JSON results go. */
  out: string | undefined
  /** Also rewrite docs/benchmarks.md and docs/benchmarks.svg from this run. */
  docs: boolean
  /** Run nothing: read this results JSON instead (to re-render the tables or the docs). */
  from: string | undefined
  /** Only targets whose label contains one of these (case-insensitive); undefined: all. */
  only: string[] | undefined
  help: boolean
}

export const USAGE = `pnpm bench [options]

  --scenario LIST   comma-separated: ${SCENARIOS.join(',')} (default: all)
  --quick           tiny counts and short steps: a smoke run in about a minute per scenario
  --cpu-prof DIR    write V8 CPU profiles of the PAN server processes into DIR
  --out FILE        results JSON (default packages/bench/results/<timestamp>.json)
  --docs            rewrite docs/benchmarks.md and docs/benchmarks.svg from this run
  --from FILE       run nothing: render the tables (and --docs) from a results JSON
  --only LIST       comma-separated parts of target labels to run, e.g. "raw,pan +"; the rest are skipped
  --help

Cluster targets, durable sends and history need DATABASE_URL (a Postgres server; the bench
creates and drops its own databases on it). Redis servers are private, on free ports.`

export function parseOptions (argv: string[]): BenchOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      scenario: { type: 'string' },
      quick: { type: 'boolean', default: false },
      'cpu-prof': { type: 'string' },
      out: { type: 'string' },
      docs: { type: 'boolean', default: false },
      from: { type: 'string' },
      only: { type: 'string' },
      help: { type: 'boolean', default: false }
    },
    strict: true
  })
  const scenarios = values.scenario === undefined
    ? [...SCENARIOS]
    : values.scenario.split(',').map((s) => s.trim()).filter((s) => s !== '')
  for (const s of scenarios) {
    if (!(SCENARIOS as readonly string[]).includes(s)) throw new Error(`unknown scenario ${s}; known: ${SCENARIOS.join(', ')}`)
  }
  return {
    scenarios: scenarios as ScenarioId[],
    quick: values.quick ?? false,
    cpuProf: values['cpu-prof'],
    out: values.out,
    docs: values.docs ?? false,
    from: values.from,
    only: values.only?.split(',').map((s) => s.trim().toLowerCase()).filter((s) => s !== ''),
    help: values.help ?? false
  }
}
