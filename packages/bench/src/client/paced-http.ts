/**
 * An open-loop HTTP load generator: requests start on a fixed schedule (one every 1/rate s), not
 * when a previous answer arrives, and each latency is measured from the moment its request was
 * due. A slow answer therefore delays nothing and hides nothing (no coordinated omission).
 *
 * autocannon's `-R` is not this: each connection sends its per-second quota back to back at the
 * start of every second and then waits, so "500 requests/s" over 10 connections is 10 closed
 * loops at full speed for part of each second, and its percentiles measure that queue.
 *
 * Run as its own process: `paced-http.ts URL RATE SECONDS [HEADER]`; prints one JSON line.
 */
import http from 'node:http'
import { newHistogram, percentiles, recordMs } from '../hist.ts'

export interface PacedResult {
  requests: number
  /** Completed requests per second over the run. */
  reqPerSec: number
  non2xx: number
  errors: number
  p50: number
  p90: number
  p99: number
  max: number
}

async function main (): Promise<void> {
  const [url, rateArg, secondsArg, header] = process.argv.slice(2)
  if (url === undefined || rateArg === undefined || secondsArg === undefined) throw new Error('usage: paced-http.ts URL RATE SECONDS [HEADER]')
  const rate = Number(rateArg)
  const total = Math.round(rate * Number(secondsArg))
  const headers: Record<string, string> = {}
  if (header !== undefined) {
    const at = header.indexOf(':')
    headers[header.slice(0, at).trim()] = header.slice(at + 1).trim()
  }
  // Enough sockets that a request never waits for one: the schedule, not the pool, sets the pace.
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 })
  const hist = newHistogram()
  let non2xx = 0
  let errors = 0
  let done = 0
  let sent = 0
  const started = performance.now()
  await new Promise<void>((resolve) => {
    const finish = (): void => { if (++done === total) resolve() }
    const fire = (due: number): void => {
      const req = http.get(url, { agent, headers }, (res) => {
        res.resume()
        res.once('end', () => {
          recordMs(hist, performance.now() - due)
          if (res.statusCode === undefined || res.statusCode < 200 || res.statusCode > 299) non2xx++
          finish()
        })
      })
      req.setTimeout(30_000, () => { req.destroy(new Error('timeout')) })
      req.once('error', () => { errors++; finish() })
    }
    const tick = (): void => {
      const now = performance.now()
      while (sent < total && started + sent * 1000 / rate <= now) fire(started + sent++ * 1000 / rate)
      if (sent < total) setTimeout(tick, 1)
    }
    tick()
  })
  const seconds = (performance.now() - started) / 1000
  agent.destroy()
  const p = percentiles(hist)
  const result: PacedResult = { requests: total, reqPerSec: (total - errors) / seconds, non2xx, errors, p50: p.p50, p90: p.p90, p99: p.p99, max: p.max }
  process.stdout.write(JSON.stringify(result) + '\n')
}

await main()
