import { readFileSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { latencyChart } from './svg.ts'
import { machineLine, scenarioTable, type BenchRun } from './table.ts'

const docsDir = fileURLToPath(new URL('../../../../docs/', import.meta.url))
const START = '<!-- bench:results:start -->'
const END = '<!-- bench:results:end -->'

/** The generated part of docs/benchmarks.md: machine, tables, methods. */
export function resultsMarkdown (run: BenchRun): string {
  const parts = [
    `Run of ${run.startedAt} (${run.durationSec} s${run.quick ? ', --quick' : ''}) on ${machineLine(run)}.`
  ]
  for (const s of run.results) {
    parts.push(`### ${s.title}\n\n${scenarioTable(s)}\n\n${s.method}`)
  }
  return parts.join('\n\n')
}

/**
 * Rewrites the results section of docs/benchmarks.md (between its markers; the hand-written
 * method around them stays) and docs/benchmarks.svg from the fan-out ladders. Returns the files written.
 */
export function writeDocs (run: BenchRun): string[] {
  const written: string[] = []
  const mdFile = `${docsDir}benchmarks.md`
  const md = readFileSync(mdFile, 'utf8')
  const from = md.indexOf(START)
  const to = md.indexOf(END)
  if (from < 0 || to < from) throw new Error(`${mdFile} has no ${START} … ${END} section`)
  writeFileSync(mdFile, `${md.slice(0, from + START.length)}\n${resultsMarkdown(run)}\n${md.slice(to)}`)
  written.push(mdFile)
  const fan = run.results.find((s) => s.id === 'fanout')
  if (fan !== undefined) {
    const svgFile = `${docsDir}benchmarks.svg`
    writeFileSync(svgFile, latencyChart(fan))
    written.push(svgFile)
  }
  return written
}
