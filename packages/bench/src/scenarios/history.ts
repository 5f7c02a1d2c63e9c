import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'
import postgres from 'postgres'
import type { PacedResult } from '../client/paced-http.ts'
import { cpuWindow } from '../cpu.ts'
import { cpuSeconds, start, sleep } from '../proc.ts'
import type { Target } from '../targets/types.ts'
import { onTarget, startPanWith } from './common.ts'
import type { RunContext, ScenarioResult, TargetResult } from './types.ts'

const HEALTHZ = 'GET /healthz'
const require = createRequire(import.meta.url)
const autocannonBin = require.resolve('autocannon/autocannon.js')
const pacedEntry = fileURLToPath(new URL('../client/paced-http.ts', import.meta.url))
const tsxLoader = import.meta.resolve('tsx')

/** What autocannon's `--json` prints (the fields we read). */
interface AutocannonResult {
  latency: { p50: number, p90: number, p99: number, max: number, average: number }
  requests: { total: number, average: number }
  non2xx: number
  errors: number
  timeouts: number
}

/** One load run, whichever generator made it. Latencies in ms. */
interface LoadRun {
  reqPerSec: number
  p50: number
  p99: number
  max: number
  failed: number
  /** The generator's own CPU over the run, share of one core. */
  clientCpu: number
  /** Target CPU (server + Postgres) per request, µs. */
  usPerRequest: number
}

/**
 * History: `GET /v1/rooms/:room/messages?limit=100` (the latest 100) from a room holding 1M
 * messages among 5M rows, at a fixed 500 requests/s from autocannon, beside `GET /healthz` at the
 * same rate on the same server (the HTTP floor); and the plan Postgres picks for the query.
 */
export async function history (ctx: RunContext): Promise<ScenarioResult> {
  const total = ctx.quick ? 100_000 : 5_000_000
  const durationSec = ctx.quick ? 3 : 10
  const rate = 500
  const method = `A fresh Postgres database migrated by PAN, seeded with one INSERT … SELECT generate_series per million rows: ${total.toLocaleString('en-US')} ` +
    `messages, every fifth in room hist-big (${(total / 5).toLocaleString('en-US')} messages), the rest spread over 400 other rooms, interleaved as ` +
    'they would arrive (foreign-key triggers off, the secondary indexes built after the load, as a restore does); then VACUUM ANALYZE and CHECKPOINT. ' +
    `An open-loop client (a separate process, keep-alive sockets) starts one request every ${1000 / rate} ms for ${durationSec} s for the ` +
    'latest 100 messages of hist-big (as an admin token), and then the same for GET /healthz on the same server as the baseline; ' +
    'each latency is measured from when its request was due, so a slow answer cannot hide the ones queued behind it. ' +
    `Then autocannon (10 connections, -R ${rate}) does the same two runs. autocannon paces differently: each connection sends its ` +
    'per-second quota back to back at the start of every second, then waits, so its percentiles are those of 10 closed loops ' +
    'at full speed for part of each second (corrected for coordinated omission against that burst). ' +
    'The plan is EXPLAIN (ANALYZE, BUFFERS) of the query PAN sends.'
  if (ctx.databaseUrl === undefined) {
    return { id: 'history', title: 'History', method, baseline: HEALTHZ, targets: [{ label: 'PAN + Postgres', skipped: 'DATABASE_URL is not set', steps: [], summary: {} }] }
  }
  const targets: TargetResult[] = []
  /** The autocannon rows, after the open-loop ones. */
  const later: TargetResult[] = []
  let plan = ''
  const result = await onTarget(ctx, 'PAN + Postgres', startPanWith(ctx, { mode: 'postgres' }), 1, async (target) => {
    const seedStarted = Date.now()
    await target.createRooms(['hist-big'])
    await seed(target, total, ctx.log)
    const seedSec = (Date.now() - seedStarted) / 1000
    const base = target.httpUrls[0] as string
    const bearer = `Bearer ${target.token('bench-admin', 'admin') ?? ''}`
    const auth = `authorization=${bearer}` // autocannon's -H form
    const bearerHeader = `authorization: ${bearer}`
    const historyUrl = `${base}/v1/rooms/hist-big/messages?limit=100`
    const check = await fetch(historyUrl, { headers: { authorization: bearer } })
    const page = await check.json() as { items?: unknown[] }
    if (check.status !== 200 || page.items?.length !== 100) throw new Error(`history answered ${check.status} with ${page.items?.length ?? 0} items`)
    plan = await explain(target.databaseUrl as string)
    ctx.log(`  plan:\n${plan.split('\n').map((l) => `    ${l}`).join('\n')}`)
    await paced(target, historyUrl, bearerHeader, rate, ctx.quick ? 2 : 5) // warm-up: JIT, plan cache, buffers
    const hist = await paced(target, historyUrl, bearerHeader, rate, durationSec)
    const floor = await paced(target, `${base}/healthz`, bearerHeader, rate, durationSec)
    const burstyHist = await cannon(target, historyUrl, auth, rate, durationSec)
    const burstyFloor = await cannon(target, `${base}/healthz`, auth, rate, durationSec)
    const row = (name: string, r: LoadRun): Record<string, number> => {
      ctx.log(`  ${name}: ${Math.round(r.reqPerSec)} req/s, p50 ${r.p50} ms p99 ${r.p99} ms max ${r.max} ms, ` +
        `${r.usPerRequest.toFixed(0)} µs/request, failed ${r.failed}, client CPU ${Math.round(r.clientCpu * 100)}%`)
      return { reqPerSec: r.reqPerSec, p50Ms: r.p50, p99Ms: r.p99, maxMs: r.max, usPerRequest: r.usPerRequest, non2xx: r.failed, clientCpu: r.clientCpu }
    }
    const indexUsed = /Index Scan( Backward)? using messages_room_id_seq_pk/.test(plan) ? 'yes (messages_room_id_seq_pk)' : 'NO'
    targets.push({ label: HEALTHZ, steps: [], summary: row('healthz, open loop', floor) })
    later.push({ label: 'GET /healthz, autocannon -R', steps: [], summary: row('healthz, autocannon', burstyFloor) })
    later.push({ label: 'GET …/messages latest 100, autocannon -R', steps: [], summary: { ...row('history, autocannon', burstyHist), indexUsed } })
    return { steps: [], summary: { ...row('history, open loop', hist), rows: total, roomMessages: total / 5, seedSec, indexUsed } }
  })
  targets.push({ ...result, label: 'GET …/messages latest 100' }, ...later)
  return {
    id: 'history',
    title: `History: latest 100 of ${(total / 5).toLocaleString('en-US')} messages among ${total.toLocaleString('en-US')} rows at ${rate} req/s`,
    method: `${method}\n\n\`\`\`\n${plan}\n\`\`\``,
    baseline: HEALTHZ,
    targets
  }
}

/** Rooms and messages straight into PAN's database, a million rows per statement. */
async function seed (target: Target, total: number, log: (line: string) => void): Promise<void> {
  const sql = postgres(target.databaseUrl as string, { max: 1, onnotice: () => {} })
  try {
    await sql`set synchronous_commit = off`
    await sql`set maintenance_work_mem = '512MB'`
    // Load as a restore would: secondary indexes built once after the rows, foreign-key triggers
    // off (the seed's room ids all exist). Per-row index and FK upkeep tripled the seed's time.
    const secondary = await sql<Array<{ name: string, def: string }>>`
      select indexname as name, indexdef as def from pg_indexes
      where schemaname = current_schema() and tablename = 'messages' and indexname <> 'messages_room_id_seq_pk'`
    for (const { name } of secondary) await sql.unsafe(`drop index "${name}"`)
    await sql`set session_replication_role = replica`
    await sql`insert into rooms (id, name, visibility) select 'hist-o' || i, 'other ' || i, 'public' from generate_series(0, 399) i`
    const chunk = 1_000_000
    for (let from = 0; from < total; from += chunk) {
      const to = Math.min(total, from + chunk) - 1
      const t0 = Date.now()
      // Every fifth row is hist-big's; the others go round the 400 other rooms, each with gapless seqs.
      await sql`
        insert into messages (room_id, seq, client_id, sender_id, sender_name, text, created_at)
        select case when g % 5 = 0 then 'hist-big' else 'hist-o' || ((g - g / 5 - 1) % 400) end,
               case when g % 5 = 0 then g / 5 + 1 else (g - g / 5 - 1) / 400 + 1 end,
               'c' || g, 'u' || (g % 1000), 'user ' || (g % 1000),
               'message ' || g || ': the quick brown fox jumps over the lazy dog',
               now() - (${total}::bigint - g) * interval '1 millisecond'
        from generate_series(${from}::bigint, ${to}::bigint) g`
      log(`  seeded rows ${from}..${to} in ${((Date.now() - t0) / 1000).toFixed(1)} s`)
    }
    await sql`set session_replication_role = origin`
    const t0 = Date.now()
    for (const { def } of secondary) await sql.unsafe(def)
    log(`  built ${secondary.length} secondary indexes in ${((Date.now() - t0) / 1000).toFixed(1)} s`)
    await sql`update rooms set last_seq = m.max from (select room_id, max(seq) as max from messages group by room_id) m where rooms.id = m.room_id`
    await sql.unsafe('vacuum (analyze) messages')
    // Flush the seed's dirty pages now: the checkpointer's CPU is counted against the requests.
    await sql.unsafe('checkpoint')
  } finally {
    await sql.end({ timeout: 5 })
  }
}

/**
 * EXPLAIN of the history query as PAN sends it (readHistoryPage: a statement prepared once per
 * connection, latest first, then reversed), after as many executions as it takes Postgres's plan
 * cache to settle on the plan a running server keeps (a generic one shows `$1` in its conditions).
 */
async function explain (databaseUrl: string): Promise<string> {
  const sql = postgres(databaseUrl, { max: 1, onnotice: () => {} })
  try {
    await sql.unsafe('prepare pan_history as select "seq", "client_id", "sender_id", "sender_name", "text", "data", "stream_status", ' +
      'floor(extract(epoch from "created_at") * 1000)::float8 as "ts" from "messages" ' +
      'where ("messages"."room_id" = $1 and "messages"."seq" > $2 and "messages"."seq" <= $3) order by "messages"."seq" desc limit $4')
    const execute = `execute pan_history('hist-big', 0, ${Number.MAX_SAFE_INTEGER}, 101)`
    for (let i = 0; i < 6; i++) await sql.unsafe(execute)
    const rows = await sql.unsafe<Array<{ 'QUERY PLAN': string }>>(`explain (analyze, buffers) ${execute}`)
    return rows.map((r) => r['QUERY PLAN']).join('\n')
  } finally {
    await sql.end({ timeout: 5 })
  }
}

/** A load generator run as its own process, its CPU, and the target's CPU around it. */
async function clientRun (target: Target, command: string, args: string[], durationSec: number): Promise<{ out: string, clientCpu: number, targetCpu: number }> {
  const window = await cpuWindow(target.processes)
  const proc = start(command, args, { env: { PATH: process.env.PATH } })
  let clientCpu = 0
  const state = { done: false }
  proc.child.once('exit', () => { state.done = true })
  const deadline = Date.now() + durationSec * 1000 + 30_000
  while (!state.done && Date.now() < deadline) {
    clientCpu = cpuSeconds(proc.pid) || clientCpu
    await sleep(200)
  }
  if (!state.done) await proc.stop()
  const cpu = await window.end()
  return { out: proc.output(), clientCpu: clientCpu / durationSec, targetCpu: cpu.server + cpu.postgres }
}

/** One autocannon run at a fixed overall rate (10 connections). */
async function cannon (target: Target, url: string, header: string, rate: number, durationSec: number): Promise<LoadRun> {
  const run = await clientRun(target, process.execPath, [autocannonBin, '-j', '-n', '-c', '10', '-R', String(rate), '-d', String(durationSec), '-H', header, url], durationSec)
  let result: AutocannonResult
  try {
    result = JSON.parse(run.out.slice(run.out.indexOf('{"'))) as AutocannonResult
  } catch {
    throw new Error(`autocannon printed no JSON:\n${run.out.slice(-2000)}`)
  }
  return {
    reqPerSec: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    max: result.latency.max,
    failed: result.non2xx + result.errors + result.timeouts,
    clientCpu: run.clientCpu,
    usPerRequest: result.requests.total > 0 ? run.targetCpu * 1e6 / result.requests.total : 0
  }
}

/** One open-loop run: a request due every 1/rate s, latency from when it was due. */
async function paced (target: Target, url: string, header: string, rate: number, durationSec: number): Promise<LoadRun> {
  const run = await clientRun(target, process.execPath, ['--import', tsxLoader, pacedEntry, url, String(rate), String(durationSec), header], durationSec)
  let result: PacedResult
  try {
    result = JSON.parse(run.out.slice(run.out.indexOf('{"'))) as PacedResult
  } catch {
    throw new Error(`the paced client printed no JSON:\n${run.out.slice(-2000)}`)
  }
  return {
    reqPerSec: result.reqPerSec,
    p50: result.p50,
    p99: result.p99,
    max: result.max,
    failed: result.non2xx + result.errors,
    clientCpu: run.clientCpu,
    usPerRequest: result.requests > 0 ? run.targetCpu * 1e6 / result.requests : 0
  }
}
