/**
 * `pnpm bench`: starts each target, drives it from client worker processes, and prints every
 * figure beside the same figure of the baseline run in this same invocation.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { machineInfo } from './machine.ts'
import { parseOptions, USAGE, type ScenarioId } from './options.ts'
import { renderTables, type BenchRun } from './report/table.ts'
import { writeDocs } from './report/docs.ts'
import { crossReplica } from './scenarios/cross.ts'
import { durable } from './scenarios/durable.ts'
import { fanout } from './scenarios/fanout.ts'
import { history } from './scenarios/history.ts'
import { idle } from './scenarios/idle.ts'
import { pairs } from './scenarios/pairs.ts'
import type { RunContext, ScenarioResult } from './scenarios/types.ts'
import { postgresServerUrl } from './targets/postgres.ts'

const packageDir = fileURLToPath(new URL('..', import.meta.url))
const RUNNERS: Record<ScenarioId, (ctx: RunContext) => Promise<ScenarioResult>> = {
  fanout,
  cross: crossReplica,
  pairs,
  durable,
  idle,
  history
}

async function main (): Promise<void> {
  const options = parseOptions(process.argv.slice(2))
  if (options.help) {
    process.stdout.write(`${USAGE}\n`)
    return
  }
  if (options.from !== undefined) {
    const saved = JSON.parse(readFileSync(resolve(options.from), 'utf8')) as BenchRun
    process.stdout.write(`${renderTables(saved)}\n`)
    if (options.docs) process.stderr.write(`wrote ${writeDocs(saved).join(', ')}\n`)
    return
  }
  const started = Date.now()
  const log = (line: string): void => { process.stderr.write(`[${((Date.now() - started) / 1000).toFixed(0).padStart(4)} s] ${line}\n`) }
  const databaseUrl = postgresServerUrl()
  const cpuProfDir = options.cpuProf === undefined ? undefined : resolve(options.cpuProf)
  if (cpuProfDir !== undefined) mkdirSync(cpuProfDir, { recursive: true })
  const ctx: RunContext = { quick: options.quick, databaseUrl, cpuProfDir, only: options.only, log }
  const machine = await machineInfo(databaseUrl)
  log(`machine: ${machine.cpu} ×${machine.cores}, ${machine.memoryGiB} GiB, node ${machine.node}, load ${machine.loadavg}`)
  const results: ScenarioResult[] = []
  for (const id of options.scenarios) {
    log(`scenario ${id}${options.quick ? ' (quick)' : ''}`)
    results.push(await RUNNERS[id](ctx))
  }
  const run: BenchRun = { startedAt: new Date(started).toISOString(), durationSec: Math.round((Date.now() - started) / 1000), quick: options.quick, machine, results }
  const out = options.out ?? resolve(packageDir, 'results', `${run.startedAt.replaceAll(':', '-')}.json`)
  mkdirSync(dirname(out), { recursive: true })
  writeFileSync(out, JSON.stringify(run, null, 2))
  process.stdout.write(`${renderTables(run)}\n`)
  log(`results in ${out} (${run.durationSec} s)`)
  if (options.docs) log(`wrote ${writeDocs(run).join(', ')}`)
}

main().catch((err: unknown) => {
  process.stderr.write(`bench: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`)
  process.exitCode = 1
})
