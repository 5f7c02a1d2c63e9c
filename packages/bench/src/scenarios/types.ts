import type { CpuByRole } from '../cpu.ts'
import type { Percentiles } from '../hist.ts'

/** Settings every scenario gets from the command line. */
export interface RunContext {
  /** Tiny counts and short steps (a smoke run under a minute). */
  quick: boolean
  /** Postgres server URL for cluster targets; undefined skips them (reported as skipped). */
  databaseUrl: string | undefined
  /** Folder for V8 CPU profiles of the PAN servers; undefined: no profiling. */
  cpuProfDir: string | undefined
  /** Only targets whose label contains one of these (lower case); undefined: all. */
  only?: string[] | undefined
  log: (line: string) => void
}

/** One step of a load ladder (or one measured window) on one target. */
export interface StepRow {
  /** Messages per second the senders were asked to send. */
  offered: number
  sent: number
  /** Messages actually sent per second. */
  msgsPerSec: number
  /** Sends acknowledged (PAN: ack frames; others: the sender's own copy back). */
  acked: number
  ackedPerSec: number
  delivered: number
  expected: number
  deliveredPerSec: number
  latency: Percentiles
  ack: Percentiles
  /** Target CPU seconds in the window, by role (server processes, Postgres, Redis). */
  cpu: CpuByRole
  /** Target CPU (all roles) per delivered message frame, µs. */
  usPerDelivery: number
  /** Target CPU (all roles) per message sent, µs. */
  usPerMessage: number
  /** Client workers' CPU, share of one core each. */
  clientCpu: number[]
  errors: number
  errorSamples: string[]
  closes: Record<string, number>
  /** p99 under the bound and ≥ 95 % delivered. */
  pass: boolean
  /** Set when the step failed once and this is its second (last) try. */
  retried?: boolean
}

/** What one target did in one scenario. */
export interface TargetResult {
  label: string
  /** Why it did not run (e.g. no DATABASE_URL), if it did not. */
  skipped?: string
  /** Set when it failed to run to the end. */
  error?: string
  steps: StepRow[]
  /** Scenario-specific headline figures (units in the key), e.g. `ceilingDeliveriesPerSec`. */
  summary: Record<string, number | string>
}

export interface ScenarioResult {
  id: string
  title: string
  /** What was run, in one paragraph (counts, durations, pass rule). */
  method: string
  /** Label of the target every ratio is taken against. */
  baseline: string
  targets: TargetResult[]
}
