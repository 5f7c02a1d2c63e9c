/**
 * A client worker: a separate process (child_process.fork) that opens its share of the
 * connections, drives load when told and reports histograms and its own CPU over IPC. Many
 * workers, so that no process nears the 20k open-file limit and a saturated client shows up in
 * its CPU figure rather than as a slow server.
 */
import { performance } from 'node:perf_hooks'
import WebSocket from 'ws'
import { encode, newHistogram, recordMs, type Histogram } from '../hist.ts'
import type { Protocol } from '../targets/types.ts'
import type { Command, ConnSpec, Load, Report, StepCounts, StepReport } from './messages.ts'
import { isError, readAck, readMessage, sendFrame } from './wire.ts'

const now = (): number => performance.timeOrigin + performance.now()

interface Conn {
  ws: WebSocket
  spec: ConnSpec
  tag: string
  ready: boolean
  /** Messages sent in this step; `next` send time in rate mode; unacked sends in window mode. */
  sent: number
  next: number
  inflight: number
}

interface StepState extends StepCounts {
  step: number
  load: Load
  sending: boolean
  deliveries: Histogram
  acks: Histogram
  lastArrival: number
}

let protocol: Protocol = 'raw'
const conns: Conn[] = []
let state: StepState | undefined
let ids = 0

function report (r: Report): void {
  process.send?.(r)
}

function onFrame (conn: Conn, data: Buffer): void {
  const s = state
  const msg = readMessage(protocol, data)
  if (msg !== undefined) {
    if (s === undefined || msg.step !== s.step) {
      if (s !== undefined) s.stale++
      return
    }
    const t = now()
    s.delivered++
    s.lastArrival = t
    recordMs(s.deliveries, t - msg.stamp)
    // Raw ws and Socket.IO have no ack: the sender's own copy coming back stands for it.
    if (protocol !== 'pan' && msg.tag === conn.tag) acked(conn, s, t - msg.stamp)
    return
  }
  if (protocol === 'pan') {
    const ack = readAck(data)
    if (ack !== undefined) {
      if (s !== undefined && ack.step === s.step) acked(conn, s, now() - ack.stamp)
      return
    }
    if (isError(data) && s !== undefined) {
      s.errors++
      if (s.errorSamples.length < 5) s.errorSamples.push(data.toString('utf8', 0, 300))
      conn.inflight = Math.max(0, conn.inflight - 1)
    }
  } else if (protocol === 'sio' && data.length === 1 && data[0] === 0x32) {
    conn.ws.send('3') // engine.io ping → pong
  }
}

function acked (conn: Conn, s: StepState, ms: number): void {
  s.acked++
  recordMs(s.acks, ms)
  conn.inflight = Math.max(0, conn.inflight - 1)
  if (s.sending && s.load.mode === 'window') send(conn, s)
}

function send (conn: Conn, s: StepState): void {
  if (conn.ws.readyState !== WebSocket.OPEN) return
  const stamp = now().toFixed(3)
  const payload = `${s.step}:${stamp}:${conn.tag}`
  conn.ws.send(sendFrame(protocol, conn.spec.room, payload, `${s.step}:${stamp}:${++ids}`))
  conn.sent++
  conn.inflight++
  s.sent++
}

async function open (spec: ConnSpec, index: number, timeoutMs: number): Promise<Conn> {
  let url = spec.url
  if (protocol !== 'pan') url += `${url.includes('?') ? '&' : '?'}room=${encodeURIComponent(spec.room)}`
  const ws = new WebSocket(url, {
    perMessageDeflate: false,
    localAddress: spec.localAddress,
    handshakeTimeout: timeoutMs,
    ...(spec.token === undefined ? {} : { headers: { authorization: `Bearer ${spec.token}` } })
  })
  const conn: Conn = { ws, spec, tag: `${process.pid}.${index}`, ready: false, sent: 0, next: 0, inflight: 0 }
  return await new Promise((resolve, reject) => {
    const timer = setTimeout(() => { ws.terminate(); reject(new Error('timed out')) }, timeoutMs)
    const done = (err?: Error): void => {
      clearTimeout(timer)
      if (err === undefined) {
        conn.ready = true
        resolve(conn)
      } else {
        ws.terminate()
        reject(err)
      }
    }
    ws.on('error', (err) => { if (!conn.ready) done(err) })
    ws.on('close', (code) => {
      if (!conn.ready) { done(new Error(`closed ${code} before ready`)); return }
      conn.ready = false
      if (state !== undefined) state.closes[code] = (state.closes[code] ?? 0) + 1
    })
    ws.on('message', (data: Buffer) => {
      if (conn.ready) { onFrame(conn, data); return }
      // Handshakes: PAN hello → join → joined; Socket.IO open → connect (40) → connected (40{…}).
      const text = data.toString('utf8')
      if (protocol === 'pan') {
        if (text.startsWith('{"type":"hello"')) ws.send(JSON.stringify({ type: 'join', room: spec.room }))
        else if (text.startsWith('{"type":"joined"')) done()
        else if (text.startsWith('{"type":"error"')) done(new Error(text.slice(0, 200)))
      } else if (protocol === 'sio') {
        if (text.startsWith('0{')) ws.send('40')
        else if (text.startsWith('40')) done()
        else if (text.startsWith('44')) done(new Error(text.slice(0, 200)))
      }
    })
    if (protocol === 'raw') ws.once('open', () => done())
  })
}

async function connectAll (cmd: Extract<Command, { cmd: 'connect' }>): Promise<void> {
  protocol = cmd.protocol
  const started = Date.now()
  const errors: string[] = []
  let failed = 0
  let skipped = 0
  let next = 0
  const base = conns.length
  const lane = async (): Promise<void> => {
    while (next < cmd.conns.length) {
      const i = next++
      if (Date.now() > cmd.deadline) {
        skipped++
        continue
      }
      try {
        conns[base + i] = await open(cmd.conns[i] as ConnSpec, base + i, cmd.timeoutMs)
      } catch (err) {
        failed++
        if (errors.length < 5) errors.push((err as Error).message)
      }
    }
  }
  await Promise.all(Array.from({ length: Math.max(1, Math.min(cmd.concurrency, cmd.conns.length)) }, lane))
  // Failed slots leave holes: compact, keeping order (sender indices refer to opened connections).
  const opened = conns.filter((c) => c !== undefined)
  conns.length = 0
  conns.push(...opened)
  report({ ev: 'connected', opened: cmd.conns.length - failed - skipped, failed, skipped, errors, ms: Date.now() - started })
}

async function runStep (cmd: Extract<Command, { cmd: 'run' }>): Promise<void> {
  const s: StepState = {
    step: cmd.step,
    load: cmd.load,
    sending: true,
    sent: 0,
    acked: 0,
    delivered: 0,
    stale: 0,
    errors: 0,
    errorSamples: [],
    closes: {},
    deliveries: newHistogram(),
    acks: newHistogram(),
    lastArrival: now()
  }
  state = s
  const senders = cmd.senders.map((i) => conns[i]).filter((c): c is Conn => c !== undefined)
  const cpu0 = process.cpuUsage()
  const t0 = now()
  for (const c of senders) { c.sent = 0; c.inflight = 0 }
  const load = cmd.load
  if (load.mode === 'window') {
    for (const c of senders) for (let k = 0; k < load.window; k++) send(c, s)
    await sleep(cmd.durationMs)
  } else {
    // Every sender gets a random phase, then sends each 1/rate s; a 5 ms tick serves all that are due.
    const interval = 1000 / load.perSenderRate
    for (const c of senders) c.next = t0 + Math.random() * interval
    const end = t0 + cmd.durationMs
    while (now() < end) {
      const t = now()
      for (const c of senders) {
        let burst = 0
        while (c.next <= t && burst++ < 50) {
          send(c, s)
          c.next += interval
        }
      }
      await sleep(5)
    }
  }
  s.sending = false
  // Grace, at most graceMs: until every send is acknowledged and nothing has arrived for 300 ms,
  // so that a saturated step's backlog does not spill into the next one.
  const graceEnd = now() + cmd.graceMs
  const settled = (): boolean => now() - s.lastArrival >= 300 && senders.every((c) => c.inflight === 0 || c.ws.readyState !== WebSocket.OPEN)
  while (now() < graceEnd && !settled()) await sleep(50)
  const cpu = process.cpuUsage(cpu0)
  const result: StepReport = {
    ev: 'result',
    step: s.step,
    sent: s.sent,
    acked: s.acked,
    delivered: s.delivered,
    stale: s.stale,
    errors: s.errors,
    errorSamples: s.errorSamples,
    closes: s.closes,
    deliveries: encode(s.deliveries),
    acks: encode(s.acks),
    cpuMs: (cpu.user + cpu.system) / 1000,
    wallMs: now() - t0
  }
  report(result)
}

async function closeAll (): Promise<void> {
  state = undefined
  await Promise.all(conns.map(async (c) => {
    if (c.ws.readyState === WebSocket.CLOSED) return
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => { c.ws.terminate(); resolve() }, 2000)
      c.ws.once('close', () => { clearTimeout(timer); resolve() })
      c.ws.close(1000)
    })
  }))
  conns.length = 0
  report({ ev: 'closed' })
}

const sleep = async (ms: number): Promise<void> => { await new Promise((resolve) => setTimeout(resolve, ms)) }

process.on('message', (cmd: Command) => {
  const handle = async (): Promise<void> => {
    switch (cmd.cmd) {
      case 'connect': return await connectAll(cmd)
      case 'run': return await runStep(cmd)
      case 'close': return await closeAll()
    }
  }
  handle().catch((err: unknown) => { report({ ev: 'fatal', message: err instanceof Error ? err.stack ?? err.message : String(err) }) })
})
// The coordinator gone means the run is over: never outlive it.
process.on('disconnect', () => process.exit(0))
