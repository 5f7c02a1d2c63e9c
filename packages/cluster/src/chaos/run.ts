/**
 * `pnpm chaos`: 300 agents in 30 rooms on a 3-replica cluster behind nginx, sending steadily for
 * about 70 s while replicas are SIGKILLed and restarted every 15 s and Redis once; then every
 * send must be acked and stored once, and every agent must have received every message of its
 * room exactly once. Exits 0 only then. See options.ts for the knobs, report.ts for the output.
 */
import { existsSync } from 'node:fs'
import { startCluster, type Cluster } from '../cluster.ts'
import { sleep, withTimeout } from '../wait.ts'
import { Faults } from './faults.ts'
import { closeAgents, connectProbes, createProbes, createRooms } from './fleet.ts'
import { parseOptions, USAGE, UsageError, type ChaosOptions } from './options.ts'
import type { Probe } from './probe.ts'
import { failedChecks, formatReport, machine, type Report } from './report.ts'
import { converge, settleAll } from './settle.ts'
import { Store } from './store.ts'
import { tally } from './tally.ts'
import { seconds, Timeline } from './timeline.ts'
import { Traffic } from './traffic.ts'

/** Traffic shorter than this measures nothing worth reporting. */
const MIN_TRAFFIC_MS = 10_000
/** Bound on connecting and joining all agents, ms. */
const CONNECT_TIMEOUT_MS = 60_000

/** Rejects once a signal asks the run to stop; phases race against it. */
class Interrupt {
  reason: string | undefined
  readonly promise: Promise<never>
  #reject: (err: Error) => void = () => {}

  constructor () {
    this.promise = new Promise<never>((_resolve, reject) => { this.#reject = reject })
    this.promise.catch(() => {}) // raced, never awaited alone
  }

  trigger (reason: string): void {
    this.reason ??= reason
    this.#reject(new Error(reason))
  }

  async race<T> (work: Promise<T>): Promise<T> {
    return await Promise.race([work, this.promise])
  }
}

async function main (): Promise<number> {
  let options: ChaosOptions
  try {
    options = parseOptions(process.argv.slice(2).filter((arg) => arg !== '--'), process.env)
  } catch (err) {
    // UsageError messages carry the usage already; parseArgs' own (unknown flag) do not.
    process.stderr.write(err instanceof UsageError ? `${err.message}\n` : `${(err as Error).message}\n${USAGE}\n`)
    return 2
  }
  const timeline = new Timeline()
  const interrupt = new Interrupt()
  const onSignal = (signal: NodeJS.Signals): void => {
    if (interrupt.reason !== undefined) process.exit(130) // a second Ctrl-C: the exit hooks still reap the cluster
    progress(timeline, `${signal}: stopping`)
    interrupt.trigger(`interrupted by ${signal}`)
  }
  process.on('SIGINT', onSignal)
  process.on('SIGTERM', onSignal)
  // Last resort if a bounded phase somehow is not: process.exit runs the harness's exit hooks.
  const hardLimitMs = options.durationMs + options.settleTimeoutMs + options.convergeTimeoutMs + 120_000
  const watchdog = setTimeout(() => {
    process.stderr.write(`chaos: watchdog: the run exceeded ${seconds(hardLimitMs)}, killing the cluster\n`)
    process.exit(3)
  }, hardLimitMs)
  watchdog.unref()

  const failures: string[] = []
  const timings: Record<string, number> = {}
  const mark = (phase: string, since: number): void => { timings[phase] = timeline.now() - since }
  let cluster: Cluster | undefined
  let store: Store | undefined
  let probes: Probe[] = []
  let traffic: Traffic | undefined
  let faults: Faults | undefined
  let result: ReturnType<typeof tally> | undefined

  try {
    progress(timeline, `starting ${options.replicas} replicas, Redis and nginx on a fresh database`)
    cluster = await startCluster({ replicas: options.replicas })
    const c = cluster
    store = new Store(c.databaseUrl)
    const rooms = await interrupt.race(createRooms(c, options.rooms))
    probes = createProbes(c, rooms, options.agents, timeline)
    progress(timeline, `connecting ${options.agents} agents through nginx`)
    await interrupt.race(withTimeout(connectProbes(probes), CONNECT_TIMEOUT_MS, 'connecting the agents'))
    mark('setup', 0)
    timeline.record('phase', 'traffic')

    const trafficMs = options.durationMs - options.reserveMs - timeline.now()
    if (trafficMs < MIN_TRAFFIC_MS) throw new Error(`setup took ${seconds(timeline.now())}, leaving less than ${seconds(MIN_TRAFFIC_MS)} of traffic`)
    progress(timeline, `traffic for ${seconds(trafficMs)}; kill every ${seconds(options.killEveryMs)}, Redis at +${seconds(options.redisAtMs)}`)
    const trafficStart = timeline.now()
    traffic = new Traffic(probes, { minMs: options.sendMinMs, maxMs: options.sendMaxMs })
    faults = new Faults(c, timeline)
    traffic.start()
    faults.start({ killEveryMs: options.killEveryMs, redisAtMs: options.redisAtMs, untilMs: trafficMs })
    await interrupt.race(sleep(trafficMs))
    traffic.stop()
    await interrupt.race(faults.stop())
    mark('traffic', trafficStart)
    failures.push(...faults.failures)

    const settleStart = timeline.now()
    timeline.record('phase', 'settle')
    progress(timeline, `traffic stopped after ${traffic.queued} sends; settling`)
    const unsettled = await interrupt.race(settleAll(probes, options.settleTimeoutMs))
    if (unsettled !== undefined) failures.push(unsettled)
    mark('settle', settleStart)

    const convergeStart = timeline.now()
    const heads = await interrupt.race(store.heads(rooms))
    const behind = await interrupt.race(converge(probes, heads, options.convergeTimeoutMs))
    if (behind !== undefined) failures.push(behind)
    mark('converge', convergeStart)

    result = tally(probes, await interrupt.race(store.rooms(rooms)), timeline)
    failures.push(...failedChecks(result.figures))
  } catch (err) {
    failures.push(interrupt.reason ?? `run could not complete: ${(err as Error).message}`)
  } finally {
    traffic?.stop()
    await faults?.stop().catch(() => {})
    await closeAgents(probes)
    await store?.close().catch(() => {})
    const stopStart = timeline.now()
    // A failed run keeps the replica, Redis and nginx logs: they are the evidence.
    const keepLogs = options.keepLogs || failures.length > 0
    await cluster?.stop({ keepLogs }).catch((err: unknown) => { failures.push(`cluster stop failed: ${(err as Error).message}`) })
    mark('stop', stopStart)
  }
  timings.elapsed = timeline.now()

  const report: Report = {
    ok: failures.length === 0,
    failures,
    options,
    figures: result?.figures,
    closeCodes: result?.closeCodes ?? {},
    latencyMs: result?.latencyMs,
    faults: { kills: faults?.kills ?? 0, restarts: faults?.restarts ?? 0, redisRestarts: faults?.redisRestarts ?? 0 },
    timings,
    events: timeline.events,
    anomalies: result?.anomalies,
    machine: machine(),
    // Gone after a signal: the harness's exit hook has already cleaned up.
    logDir: cluster !== undefined && existsSync(cluster.dir) ? cluster.dir : undefined
  }
  if (!options.json) process.stdout.write(formatReport(report))
  process.stdout.write(`${JSON.stringify(report)}\n`)
  return report.ok ? 0 : 1
}

function progress (timeline: Timeline, message: string): void {
  process.stderr.write(`[chaos ${seconds(timeline.now()).padStart(6)}] ${message}\n`)
}

const code = await main()
process.exitCode = code
// Everything was stopped and closed: if something still holds the event loop, say so and go.
setTimeout(() => {
  process.stderr.write('chaos: the process did not exit 10 s after the run ended (a leaked handle); exiting\n')
  process.exit(code === 0 ? 4 : code)
}, 10_000).unref()
