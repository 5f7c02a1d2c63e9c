import { parseArgs } from 'node:util'

/** What one chaos run does. Every figure is bounded: the run ends within about `durationMs` plus the settle and converge bounds. */
export interface ChaosOptions {
  /** Agents (WebSocket clients, one user each). Default 300. */
  agents: number
  /** Rooms; agents are dealt round-robin, each joins exactly one. Default 30. */
  rooms: number
  /** Server replicas behind nginx. Default 3. */
  replicas: number
  /** Whole run, setup included, ms; traffic fills what setup leaves minus `reserveMs`. Default 90000. */
  durationMs: number
  /** Kept back from `durationMs` for stopping, settling and the tally, ms. Default 12000. */
  reserveMs: number
  /** Each agent waits uniformly in [min, max] ms between two sends. Default 1000–2000. */
  sendMinMs: number
  sendMaxMs: number
  /** One replica is SIGKILLed (and restarted at once) every this many ms of traffic, round-robin; 0: never. Default 15000. */
  killEveryMs: number
  /** Redis is SIGKILLed and restarted once, this many ms into the traffic; 0: never. Default 35000. */
  redisAtMs: number
  /** Bound on every agent having all its sends acked after the traffic stops, ms. Default 20000. */
  settleTimeoutMs: number
  /** Bound on every agent having received its room up to the head, ms. Default 15000. */
  convergeTimeoutMs: number
  /** Only the final JSON line on stdout. */
  json: boolean
  /** Keep the cluster's run directory (replica, Redis and nginx logs) and print where it is; a failed run always keeps it. */
  keepLogs: boolean
}

const DEFAULTS = {
  agents: 300,
  rooms: 30,
  replicas: 3,
  duration: 90,
  reserve: 12,
  'send-min-ms': 1000,
  'send-max-ms': 2000,
  'kill-every': 15,
  'redis-at': 35,
  'settle-timeout': 20,
  'converge-timeout': 15
} as const

type NumericFlag = keyof typeof DEFAULTS

export const USAGE = `pnpm chaos [--flag value ...]
  --agents N            WebSocket agents, one user each (CHAOS_AGENTS, ${DEFAULTS.agents})
  --rooms N             rooms; each agent joins one (CHAOS_ROOMS, ${DEFAULTS.rooms})
  --replicas N          server replicas behind nginx (CHAOS_REPLICAS, ${DEFAULTS.replicas})
  --duration S          whole run incl. setup, seconds (CHAOS_DURATION, ${DEFAULTS.duration})
  --reserve S           kept for settle and tally out of the duration (CHAOS_RESERVE, ${DEFAULTS.reserve})
  --send-min-ms MS      shortest pause between an agent's sends (CHAOS_SEND_MIN_MS, ${DEFAULTS['send-min-ms']})
  --send-max-ms MS      longest pause between an agent's sends (CHAOS_SEND_MAX_MS, ${DEFAULTS['send-max-ms']})
  --kill-every S        SIGKILL + restart one replica every S seconds of traffic, 0 = never (CHAOS_KILL_EVERY, ${DEFAULTS['kill-every']})
  --redis-at S          restart Redis once, S seconds into the traffic, 0 = never (CHAOS_REDIS_AT, ${DEFAULTS['redis-at']})
  --settle-timeout S    bound on all sends being acked after traffic (CHAOS_SETTLE_TIMEOUT, ${DEFAULTS['settle-timeout']})
  --converge-timeout S  bound on all agents reaching their room's head (CHAOS_CONVERGE_TIMEOUT, ${DEFAULTS['converge-timeout']})
  --json                print only the final JSON line (CHAOS_JSON=1)
  --keep-logs           keep the cluster logs even when the run passes (CHAOS_KEEP_LOGS=1)
Needs DATABASE_URL (a Postgres server; a fresh database is created and dropped).`

/** Flags win over `CHAOS_*` environment variables, which win over the defaults. */
export function parseOptions (argv: string[], env: NodeJS.ProcessEnv): ChaosOptions {
  const numeric = Object.fromEntries(Object.keys(DEFAULTS).map((name) => [name, { type: 'string' as const }]))
  const { values } = parseArgs({
    args: argv,
    options: { ...numeric, json: { type: 'boolean' }, 'keep-logs': { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
    strict: true,
    allowPositionals: false
  })
  if (values.help === true) throw new UsageError(USAGE)
  const number = (flag: NumericFlag): number => {
    const raw = (values as Record<string, unknown>)[flag] ?? env[`CHAOS_${flag.toUpperCase().replaceAll('-', '_')}`]
    if (raw === undefined || raw === '') return DEFAULTS[flag]
    const value = Number(raw)
    if (!Number.isFinite(value) || value < 0) throw new UsageError(`--${flag} must be a non-negative number, got ${String(raw)}\n${USAGE}`)
    return value
  }
  const flag = (name: 'json' | 'keep-logs'): boolean =>
    values[name] === true || ['1', 'true'].includes(env[`CHAOS_${name.toUpperCase().replaceAll('-', '_')}`] ?? '')
  const options: ChaosOptions = {
    agents: number('agents'),
    rooms: number('rooms'),
    replicas: number('replicas'),
    durationMs: number('duration') * 1000,
    reserveMs: number('reserve') * 1000,
    sendMinMs: number('send-min-ms'),
    sendMaxMs: number('send-max-ms'),
    killEveryMs: number('kill-every') * 1000,
    redisAtMs: number('redis-at') * 1000,
    settleTimeoutMs: number('settle-timeout') * 1000,
    convergeTimeoutMs: number('converge-timeout') * 1000,
    json: flag('json'),
    keepLogs: flag('keep-logs')
  }
  validate(options)
  return options
}

function validate (o: ChaosOptions): void {
  const problems: string[] = []
  for (const key of ['agents', 'rooms', 'replicas'] as const) {
    if (!Number.isInteger(o[key]) || o[key] < 1) problems.push(`${key} must be a positive integer`)
  }
  if (o.rooms > o.agents) problems.push('rooms must not exceed agents (every room needs an agent)')
  if (o.sendMinMs < 1 || o.sendMaxMs < o.sendMinMs) problems.push('need 1 <= send-min-ms <= send-max-ms')
  if (o.durationMs < o.reserveMs + 10_000) problems.push('duration must leave at least 10 s besides the reserve')
  if (problems.length > 0) throw new UsageError(`${problems.join('; ')}\n${USAGE}`)
}

/** Bad flags or `--help`: printed as is, exit code 2. */
export class UsageError extends Error {
  override name = 'UsageError'
}
