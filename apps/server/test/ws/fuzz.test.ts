import t from 'tap'
import fc from 'fast-check'
import WebSocket from 'ws'
import { Compile } from 'typebox/compile'
import { AgentStates, ServerFrames, type ClientFrameType } from '@pan/protocol'
import { readHistory } from '@pan/db'
import { startServer, type TestServer } from '../helpers.ts'

/**
 * Property-based fuzzing of the frame parser and dispatcher through one live socket: valid,
 * mutated and malformed frames of every client type, pipelined in bounded batches.
 */

const MAX_FRAME = 256 * 1024
const REF = '@@REF@@'
const ROOMS = ['fuzz', 'fuzz-b', 'fuzz-private', 'ghost'] as const
const TYPES: ClientFrameType[] = ['join', 'leave', 'send', 'stream.start', 'stream.delta', 'stream.end', 'stream.abort', 'state', 'presence', 'ping']
/** Types whose valid frames always get a direct reply (the others answer only on error). */
const REPLYING = new Set<string>(['join', 'leave', 'send', 'stream.start', 'stream.end', 'presence', 'ping'])
const REQUIRED: Record<ClientFrameType, string[]> = {
  join: ['type', 'room'],
  leave: ['type', 'room'],
  send: ['type', 'room', 'id'],
  'stream.start': ['type', 'room', 'id'],
  'stream.delta': ['type', 'id', 'text'],
  'stream.end': ['type', 'id'],
  'stream.abort': ['type', 'id'],
  state: ['type', 'state'],
  presence: ['type', 'room'],
  ping: ['type']
}
const OPTIONAL: Record<ClientFrameType, string[]> = {
  join: ['since', 'ref'],
  leave: ['ref'],
  send: ['text', 'data', 'ref'],
  'stream.start': ['ref'],
  'stream.delta': ['ref'],
  'stream.end': ['text', 'data', 'ref'],
  'stream.abort': ['ref'],
  state: ['note', 'ref'],
  presence: ['ref'],
  ping: ['ref']
}
const KNOWN_FIELDS = new Set(['type', 'room', 'id', 'text', 'data', 'since', 'state', 'note', 'ref'])

type Kind = 'valid' | 'invalid' | 'non-object' | 'invalid-json'

/** One generated frame. `raw` holds REF placeholders, replaced by a unique ref when sent. */
interface Case {
  kind: Kind
  type: string | undefined
  raw: string
  /** The string `ref` the frame carries (with the placeholder), or undefined: its error then has no ref. */
  ref: string | undefined
  why: string
}

const parses = (s: string): boolean => { try { JSON.parse(s); return true } catch { return false } }
const noControl = (s: string): boolean => !/[\u0000-\u001f\u007f]/.test(s) // eslint-disable-line no-control-regex

// ---------- field values ----------
const room = fc.oneof(
  { weight: 10, arbitrary: fc.constant('fuzz') },
  { weight: 4, arbitrary: fc.constantFrom(...ROOMS) },
  { weight: 1, arbitrary: fc.stringMatching(/^[a-z0-9._-]{1,64}$/) }
)
const asciiId = fc.string({ minLength: 1, maxLength: 32 }).filter(noControl)
const unicodeId = fc.string({ unit: 'binary', minLength: 1, maxLength: 32 }).filter(noControl)
const clientId = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom('m1', 'm2', 'm3', 'm4') },
  { weight: 3, arbitrary: asciiId },
  { weight: 1, arbitrary: unicodeId },
  { weight: 1, arbitrary: fc.constant('x'.repeat(64)) }
)
const streamId = fc.oneof({ weight: 6, arbitrary: fc.constantFrom('s1', 's2', 's3') }, { weight: 1, arbitrary: clientId })
/** Strings Postgres cannot store as such: NUL, lone surrogates. */
const nastyText = fc.constantFrom('a\u0000b', '\u0000', '\ud800', 'x\udfffy', 'ok\ud83d')
const text = fc.oneof(
  { weight: 12, arbitrary: fc.string({ maxLength: 200 }) },
  { weight: 4, arbitrary: fc.string({ unit: 'binary', maxLength: 100 }) },
  { weight: 1, arbitrary: fc.integer({ min: 5_000, max: 40_000 }).map((n) => 'h'.repeat(n)) },
  { weight: 1, arbitrary: fc.constantFrom('', '\u2028\u2029', '</script>', '{"type":"ping"}', '\\u0000', '🙂'.repeat(50)) },
  { weight: 1, arbitrary: nastyText }
)
const jsonish = fc.jsonValue({ maxDepth: 4 })
const data = fc.oneof(
  { weight: 10, arbitrary: fc.dictionary(fc.string({ maxLength: 10 }), jsonish, { maxKeys: 5 }) },
  { weight: 1, arbitrary: fc.constant({ deep: JSON.parse('['.repeat(200) + ']'.repeat(200)) as unknown }) },
  { weight: 1, arbitrary: fc.constantFrom<Record<string, unknown>>({ a: '\u0000' }, { '\u0000': 1 }, { x: '\udfff' }, { __proto__: null, constructor: 1 }, {}) }
)
const since = fc.oneof(
  { weight: 4, arbitrary: fc.constant(undefined) },
  { weight: 2, arbitrary: fc.integer({ min: 1_000_000, max: Number.MAX_SAFE_INTEGER }) },
  { weight: 1, arbitrary: fc.nat(300) }
)
const state = fc.constantFrom(...AgentStates)
const note = fc.option(fc.string({ maxLength: 256 }), { nil: undefined })
/** Unknown fields, which the contract says are ignored: nested garbage included. */
const extras = fc.option(
  fc.dictionary(fc.string({ maxLength: 8 }).filter((k) => !KNOWN_FIELDS.has(k)), fc.jsonValue({ maxDepth: 6 }), { maxKeys: 3 }),
  { nil: undefined, freq: 3 }
)

const atLeastOne = <A, B>(a: fc.Arbitrary<A>, b: fc.Arbitrary<B>): fc.Arbitrary<{ text?: A, data?: B }> => fc.oneof(
  a.map((text) => ({ text })),
  b.map((data) => ({ data })),
  fc.tuple(a, b).map(([text, data]) => ({ text, data }))
)

/** A schema-valid frame of each type (as a plain object, `ref` set to the placeholder). */
const validBody: Record<ClientFrameType, fc.Arbitrary<Record<string, unknown>>> = {
  join: fc.record({ room, since }).map(({ room, since }) => since === undefined ? { room } : { room, since }),
  leave: fc.record({ room }),
  send: fc.tuple(room, clientId, atLeastOne(text, data)).map(([room, id, payload]) => ({ room, id, ...payload })),
  'stream.start': fc.record({ room, id: streamId }),
  'stream.delta': fc.record({ id: streamId, text }),
  'stream.end': fc.tuple(streamId, fc.option(text, { nil: undefined, freq: 2 }), fc.option(data, { nil: undefined, freq: 4 }))
    .map(([id, text, data]) => ({ id, ...(text === undefined ? {} : { text }), ...(data === undefined ? {} : { data }) })),
  'stream.abort': fc.record({ id: streamId }),
  state: fc.record({ state, note }).map(({ state, note }) => note === undefined ? { state } : { state, note }),
  presence: fc.record({ room }),
  ping: fc.constant({})
}

const frameType = fc.constantFrom(...TYPES)
const validFrame = frameType.chain((type) => fc.tuple(fc.constant(type), validBody[type], extras))
  .map(([type, body, extra]) => ({ type, obj: { ...(extra ?? {}), type, ...body, ref: REF } as Record<string, unknown> }))

const validCase: fc.Arbitrary<Case> = validFrame.map(({ type, obj }) => ({ kind: 'valid', type, raw: JSON.stringify(obj), ref: REF, why: 'valid' }))

// ---------- mutations that make a frame invalid ----------
const wrongForString = fc.oneof(
  fc.integer(), fc.boolean(), fc.constant(null), fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.array(fc.jsonValue({ maxDepth: 2 }), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 5 }), fc.jsonValue({ maxDepth: 3 }), { maxKeys: 3 })
)
const badValues: Record<string, fc.Arbitrary<unknown>> = {
  type: fc.oneof(wrongForString, fc.constantFrom('', 'Ping', 'ping ', 'PING', 'hello', 'ack', 'message', 'error', 'stream', 'stream.', 'presence.join', '__proto__', 'constructor', 'toString', 'hasOwnProperty', 'x'.repeat(20_000))),
  room: fc.oneof(wrongForString, fc.constantFrom('', 'Fuzz', 'a b', 'ü', 'x'.repeat(65), 'fuzz\n', '../etc', 'fuzz/b', 'h'.repeat(20_000))),
  id: fc.oneof(wrongForString, fc.constantFrom('', 'x'.repeat(65), '\u0001x', 'a\u007f', '\n', '\u0000', 'h'.repeat(20_000))),
  text: wrongForString,
  data: fc.oneof(fc.integer(), fc.boolean(), fc.constant(null), fc.string(), fc.array(fc.jsonValue({ maxDepth: 2 }), { maxLength: 3 })),
  since: fc.oneof(fc.constantFrom(-1, 1.5, -0.5, 2 ** 53, 1e300, '1', true, null, [1], { n: 1 }), fc.integer({ max: -1 })),
  state: fc.oneof(wrongForString, fc.constantFrom('sleeping', 'IDLE', '', 'idle ', 'x'.repeat(5000))),
  note: fc.oneof(wrongForString, fc.constantFrom('n'.repeat(257), 'n'.repeat(30_000))),
  ref: fc.oneof(wrongForString, fc.constant(REF + 'r'.repeat(64)))
}

const invalidCase: fc.Arbitrary<Case> = fc.tuple(validFrame, fc.nat(), fc.nat(), fc.boolean()).chain(([{ type, obj }, pickA, pickB, dropRef]) => {
  const required = REQUIRED[type]
  const fields = [...required, ...OPTIONAL[type]]
  const missing = required[pickA % required.length] as string
  const field = fields[pickB % fields.length] as string
  return fc.oneof(
    fc.constant(null).map(() => {
      const o = { ...obj }
      delete o[missing]
      return { o, why: `missing ${missing}` }
    }),
    (badValues[field] as fc.Arbitrary<unknown>).map((v) => ({ o: { ...obj, [field]: v }, why: `bad ${field}: ${JSON.stringify(v)?.slice(0, 40) ?? String(v)}` }))
  ).map(({ o, why }): Case => {
    if (dropRef && 'ref' in o && o.ref === REF) delete o.ref
    const ref = typeof o.ref === 'string' ? o.ref : undefined
    return { kind: 'invalid', type, raw: JSON.stringify(o), ref, why }
  })
})

const nonObjectCase: fc.Arbitrary<Case> = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }).filter((v) => typeof v !== 'object' || v === null || Array.isArray(v)).map((v) => JSON.stringify(v)),
  validFrame.map(({ obj }) => JSON.stringify([obj])),
  fc.constantFrom('null', '"ping"', '42', '[]', 'true', '[{"type":"ping"}]', '['.repeat(3000) + ']'.repeat(3000), '"' + 'q'.repeat(50_000) + '"')
).map((raw): Case => ({ kind: 'non-object', type: undefined, raw, ref: undefined, why: 'non-object JSON' }))

const invalidJsonCase: fc.Arbitrary<Case> = fc.oneof(
  fc.tuple(validFrame, fc.nat()).map(([{ obj }, n]) => { const s = JSON.stringify(obj); return s.slice(0, n % s.length) }),
  validFrame.map(({ obj }) => JSON.stringify(obj) + 'x'),
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.constantFrom('', ' ', '{', '}', '{"type":"ping",}', "{'type':'ping'}", '{"type":"ping"}}', '\ufeff{"type":"ping"}',
    'NaN', 'undefined', '{"type":"ping","ref":"a"}\u0000', '['.repeat(3000), '{"type":"ping","ref":"\\ud800"', '{"a":' + '{"a":'.repeat(2000))
).filter((raw) => !parses(raw)).map((raw): Case => ({ kind: 'invalid-json', type: undefined, raw, ref: undefined, why: 'not JSON' }))

const caseArb: fc.Arbitrary<Case> = fc.oneof(
  { weight: 9, arbitrary: validCase },
  { weight: 7, arbitrary: invalidCase },
  { weight: 2, arbitrary: nonObjectCase },
  { weight: 2, arbitrary: invalidJsonCase }
)

// ---------- checking server frames ----------
const serverCheckers = Object.fromEntries(Object.entries(ServerFrames).map(([k, s]) => [k, Compile(s)]))
function conforms (frame: { type?: unknown, ref?: unknown }): boolean {
  // The contract echoes any string ref, even one over the 64 chars a request may carry; the
  // schema of replies caps it at 64. Check the rest of such a frame.
  if (typeof frame.ref === 'string' && frame.ref.length > 64) return conforms({ ...frame, ref: 'r' })
  const type = typeof frame.type === 'string' && frame.type.startsWith('presence.') ? 'presence.event' : frame.type
  const checker = typeof type === 'string' ? serverCheckers[type] : undefined
  return checker !== undefined && checker.Check(frame)
}

/** Frames received on the fuzzed socket, indexed by ref. */
class Collector {
  readonly byRef = new Map<string, any[]>()
  readonly reflessErrors: any[] = []
  readonly nonConforming: any[] = []
  total = 0
  #waiters: Array<() => void> = []

  constructor (ws: WebSocket) {
    ws.on('message', (data) => {
      const frame = JSON.parse(data.toString())
      this.total++
      if (!conforms(frame) && this.nonConforming.length < 20) this.nonConforming.push(frame)
      if (typeof frame.ref === 'string') {
        const list = this.byRef.get(frame.ref) ?? []
        list.push(frame)
        this.byRef.set(frame.ref, list)
      } else if (frame.type === 'error') {
        this.reflessErrors.push(frame)
      }
      for (const w of this.#waiters.splice(0)) w()
    })
  }

  async until (check: () => boolean, ms: number): Promise<boolean> {
    const deadline = Date.now() + ms
    while (!check()) {
      const left = deadline - Date.now()
      if (left <= 0) return false
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left)
        this.#waiters.push(() => { clearTimeout(timer); resolve() })
      })
    }
    return true
  }
}

async function openSocket (server: TestServer, sub: string): Promise<{ ws: WebSocket, collector: Collector, closed: { code: number | undefined } }> {
  const ws = new WebSocket(`${server.wsUrl}?token=${server.token(sub)}`)
  const collector = new Collector(ws)
  const closed: { code: number | undefined } = { code: undefined }
  ws.on('close', (code) => { closed.code = code })
  ws.on('error', () => {})
  await collector.until(() => collector.total > 0, 5000)
  return { ws, collector, closed }
}

t.test('fuzzing one live socket with generated and mutated frames', async (t) => {
  const rejections: unknown[] = []
  const onRejection = (reason: unknown): void => { rejections.push(reason) }
  process.on('unhandledRejection', onRejection)
  t.teardown(() => { process.off('unhandledRejection', onRejection) })

  const server = await startServer(t, 'pglite', {
    PAN_MAX_FRAME_BYTES: String(MAX_FRAME),
    PAN_SEND_PER_SEC: '100000',
    PAN_DELTAS_PER_SEC: '100000',
    PAN_OUTBOUND_BUFFER_BYTES: String(256 * 1024 * 1024),
    PAN_STREAM_IDLE_MS: '3600000'
  })
  await server.room('fuzz')
  await server.room('fuzz-b')
  await server.room('fuzz-private', { visibility: 'private' })
  const { ws, collector, closed } = await openSocket(server, 'fuzzer')
  ws.send(JSON.stringify({ type: 'join', room: 'fuzz', ref: 'j1' }))
  ws.send(JSON.stringify({ type: 'join', room: 'fuzz-b', ref: 'j2' }))
  await collector.until(() => collector.byRef.has('j1') && collector.byRef.has('j2'), 5000)
  collector.byRef.clear()
  const rowsBefore = (await Promise.all(ROOMS.map(async (r) => (await readHistory(server.app.database.db, r, { limit: 100_000, direction: 'asc' })).length))).reduce((a, b) => a + b, 0)

  let counter = 0
  const sent: Record<Kind, number> = { valid: 0, invalid: 0, 'non-object': 0, 'invalid-json': 0 }
  const coverage = new Map<string, number>()
  let reflessExpected = 0
  const missingError: string[] = []
  const wrongError: string[] = []
  const missingReply: string[] = []
  const serverFailures: string[] = []
  const extraReplies: string[] = []
  const acked = new Set<string>()

  const runBatch = async (batch: Case[]): Promise<void> => {
    if (closed.code !== undefined) throw new Error(`socket closed with ${closed.code}`)
    const inFlight: Array<{ c: Case, raw: string, ref: string | undefined }> = []
    for (const c of batch) {
      const id = `f${++counter}`
      const raw = c.raw.replaceAll(REF, id)
      if (Buffer.byteLength(raw) >= MAX_FRAME) continue
      const ref = c.ref?.replaceAll(REF, id)
      sent[c.kind]++
      coverage.set(`${c.kind}:${c.type ?? '-'}`, (coverage.get(`${c.kind}:${c.type ?? '-'}`) ?? 0) + 1)
      if (c.kind !== 'valid' && ref === undefined) reflessExpected++
      inFlight.push({ c, raw, ref })
      ws.send(raw)
    }
    // Barrier: the server handles a connection's frames in order, so its pong follows every
    // synchronous reply to this batch. Sends' acks may follow it; they are waited for by ref.
    const barrier = `b${counter}`
    ws.send(JSON.stringify({ type: 'ping', ref: barrier }))
    if (!await collector.until(() => collector.byRef.has(barrier), 15_000)) throw new Error(`no pong for barrier ${barrier}`)
    await collector.until(() => collector.reflessErrors.length >= reflessExpected, 2000)

    for (const { c, raw, ref } of inFlight) {
      const label = `${c.kind} ${c.type ?? ''} (${c.why}): ${raw.slice(0, 160)}`
      if (c.kind !== 'valid') {
        if (ref === undefined) continue
        await collector.until(() => collector.byRef.has(ref), 5000)
        const replies = collector.byRef.get(ref) ?? []
        if (replies.length === 0) missingError.push(label)
        else if (replies.length > 1 || replies[0].type !== 'error' || replies[0].code !== 'bad_request') wrongError.push(`${label} → ${JSON.stringify(replies).slice(0, 200)}`)
        continue
      }
      if (ref === undefined) continue
      if (REPLYING.has(c.type ?? '')) await collector.until(() => collector.byRef.has(ref), 10_000)
      const replies = collector.byRef.get(ref) ?? []
      if (REPLYING.has(c.type ?? '') && replies.length === 0) missingReply.push(label)
      if (replies.length > 1) extraReplies.push(`${label} → ${JSON.stringify(replies).slice(0, 200)}`)
      for (const r of replies) {
        if (r.type === 'error' && (r.code === 'internal' || r.code === 'unavailable')) serverFailures.push(`${label} → ${r.code as string}`)
        if (r.type === 'error' && r.code === 'bad_request' && !/\\u0000|\\ud[89a-f][0-9a-f]{2}/i.test(raw)) wrongError.push(`valid frame refused: ${label} → ${JSON.stringify(r).slice(0, 200)}`)
        if (r.type === 'ack' && typeof r.seq === 'number') acked.add(`${r.room as string}/${r.seq as number}/${r.id as string}`)
      }
    }
    collector.byRef.clear()
  }

  // A fixed seed keeps failures reproducible; FUZZ_SEED=random explores new cases.
  const seed = process.env.FUZZ_SEED === 'random' ? Date.now() % 2_147_483_647 : Number(process.env.FUZZ_SEED ?? 469829303)
  t.comment(`fast-check seed ${seed} (set FUZZ_SEED to replay)`)
  await fc.assert(fc.asyncProperty(fc.array(caseArb, { minLength: 20, maxLength: 30 }), async (batch) => { await runBatch(batch) }), {
    numRuns: 50,
    seed,
    endOnFailure: true
  })

  t.comment(`${acked.size} messages stored, ${collector.total} frames received`)
  const total = Object.values(sent).reduce((a, b) => a + b, 0)
  t.ok(total >= 1000, `${total} frames thrown (${JSON.stringify(sent)})`)
  for (const type of TYPES) {
    t.ok((coverage.get(`valid:${type}`) ?? 0) > 0, `valid ${type} frames covered (${coverage.get(`valid:${type}`) ?? 0})`)
    t.ok((coverage.get(`invalid:${type}`) ?? 0) > 0, `invalid ${type} frames covered (${coverage.get(`invalid:${type}`) ?? 0})`)
  }
  t.ok(sent['non-object'] > 0 && sent['invalid-json'] > 0, 'non-object and invalid JSON covered')

  t.equal(closed.code, undefined, 'the socket is still open')
  t.strictSame(missingError, [], 'every invalid frame with a ref got an error with that ref')
  t.strictSame(wrongError, [], 'that error is bad_request, and only invalid frames get bad_request')
  t.equal(collector.reflessErrors.length, reflessExpected, 'every invalid frame without a usable ref got one error without ref')
  t.ok(collector.reflessErrors.every((e) => e.code === 'bad_request'), 'those errors are bad_request')
  t.strictSame(missingReply, [], 'every valid frame that has a direct reply got one')
  t.strictSame(extraReplies, [], 'no frame got two direct replies')
  t.strictSame(collector.nonConforming, [], 'every frame the server sent matches its schema')
  t.strictSame(serverFailures.slice(0, 15), [], `no valid frame met an internal or unavailable error (${serverFailures.length} did)`)

  const pong = `final-${counter}`
  ws.send(JSON.stringify({ type: 'ping', ref: pong }))
  t.ok(await collector.until(() => collector.byRef.get(pong)?.[0]?.type === 'pong', 5000), 'the socket still answers ping with pong')

  const rows = (await Promise.all(ROOMS.map(async (r) => await readHistory(server.app.database.db, r, { limit: 100_000, direction: 'asc' })))).flat()
  t.equal(rows.length - rowsBefore, acked.size, 'as many rows were written as distinct acks with a seq came back')
  t.strictSame(new Set(rows.map((r) => `${r.roomId}/${r.seq}/${r.clientId}`)), acked, 'and they are exactly the acked messages')

  const health = await fetch(`${server.url}/healthz`)
  t.equal(health.status, 200, 'the server is alive')
  const fresh = await server.connect('after-fuzz')
  t.match(await fresh.request({ type: 'ping' }), { type: 'pong' }, 'and accepts new connections')
  fresh.close()
  ws.close()
  await new Promise((resolve) => setTimeout(resolve, 50))
  t.strictSame(rejections.map(String), [], 'no unhandled rejection')
})

t.test('strings Postgres cannot store (found by fuzzing)', async (t) => {
  const server = await startServer(t, 'pglite', { PAN_BATCH_WAIT_MS: '20' })
  await server.room('nul')
  const alice = await server.connect('alice')
  const bob = await server.connect('bob')
  await alice.request({ type: 'join', room: 'nul' })
  await bob.request({ type: 'join', room: 'nul' })

  const poisons: Array<[string, Record<string, unknown>]> = [
    ['NUL in text', { text: 'a\u0000b' }],
    ['NUL in a data value', { data: { a: 'x\u0000' } }],
    ['NUL in a data key', { data: { 'k\u0000': 1 } }],
    ['lone surrogate in data', { data: { a: '\udfff' } }]
  ]
  for (const [name, payload] of poisons) {
    t.test(name, async (t) => {
      const reply = await alice.request({ type: 'send', room: 'nul', id: `p-${name}`, ...payload })
      t.ok(reply.type === 'ack' || (reply.type === 'error' && reply.code === 'bad_request'),
        `stored, or refused as bad_request: not a retryable failure (got ${JSON.stringify(reply)})`)
    })
  }

  t.test('one unstorable message does not fail the other messages committed with it', async (t) => {
    // Sent in the same tick, so the group commit puts them in one transaction.
    alice.send({ type: 'send', room: 'nul', id: 'poison', text: 'z\u0000', ref: 'poison' })
    bob.send({ type: 'send', room: 'nul', id: 'innocent-1', text: 'hello', ref: 'i1' })
    alice.send({ type: 'send', room: 'nul', id: 'innocent-2', text: 'hello', ref: 'i2' })
    t.match(await bob.next((f) => f.ref === 'i1'), { type: 'ack', id: 'innocent-1' }, "another user's send is stored")
    t.match(await alice.next((f) => f.ref === 'i2'), { type: 'ack', id: 'innocent-2' }, "the same user's next send is stored")
    const poison = await alice.next((f) => f.ref === 'poison')
    t.not(poison.code, 'unavailable', 'the unstorable one is not reported as a transient failure')
  })

  t.test('a stream whose deltas carry NUL is not lost', async (t) => {
    t.match(await alice.request({ type: 'stream.start', room: 'nul', id: 'nul-stream' }), { type: 'ack' })
    const delta = await alice.request({ type: 'stream.delta', id: 'nul-stream', text: 'a\u0000' }, 300).catch(() => undefined)
    const end = await alice.request({ type: 'stream.end', id: 'nul-stream' })
    t.ok(end.type === 'ack' || (delta?.type === 'error' && delta.code === 'bad_request'),
      `either the delta is refused up front or the stream is stored (delta: ${JSON.stringify(delta)}, end: ${JSON.stringify(end)})`)
  })
})
