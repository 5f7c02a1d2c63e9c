#!/usr/bin/env tsx
import { run } from './run.ts'

// The `pan` command line (docs: packages/client/README.md, `pan help`).

// `pan tail ROOM | head`: once the reader has gone, stop quietly rather than with a stack trace.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(0)
  throw err
})
const interrupted = new Promise<string>((resolve) => {
  process.once('SIGINT', () => { resolve('SIGINT') })
  process.once('SIGTERM', () => { resolve('SIGTERM') })
})

run(process.argv.slice(2), {
  env: process.env,
  out: (text) => { process.stdout.write(text) },
  err: (text) => { process.stderr.write(text) },
  stdin: () => process.stdin,
  interrupted
}).then((code) => { process.exitCode = code }, (err: unknown) => {
  process.stderr.write(`pan: ${err instanceof Error ? err.message : String(err)}\n`)
  process.exitCode = 1
})
