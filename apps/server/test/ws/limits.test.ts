import { once } from 'node:events'
import t from 'tap'
import WebSocket from 'ws'
import { readHistory } from '@pan/db'
import { startServer, type TestServer } from '../helpers.ts'

const sleep = async (ms: number): Promise<void> => { await new Promise((resolve) => setTimeout(resolve, ms)) }

async function storedIds (server: TestServer, room: string): Promise<string[]> {
  const rows = await readHistory(server.app.database.db, room, { limit: 100_000, direction: 'asc' })
  return rows.map((r) => r.clientId)
}

/** Polls `check` until it holds or `ms` pass; resolves with whether it held. */
async function eventually (check: () => boolean, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms
  while (Date.now() < deadline) {
    if (check()) return true
    await sleep(20)
  }
  return check()
}

t.test('tight limits', async (t) => {
  const server = await startServer(t, 'pglite', { PAN_MAX_FRAME_BYTES: '4096', PAN_SEND_PER_SEC: '5', PAN_DELTAS_PER_SEC: '5' })
  await server.room('tight')

  t.test('hello announces the limits', async (t) => {
    const s = await server.connect('announcer')
    t.match(s.hello.limits, { maxFrameBytes: 4096, sendPerSec: 5, deltasPerSec: 5 })
    t.type(s.hello.limits.connectionsPerUser, 'number')
    s.close()
  })

  t.test('a frame over maxFrameBytes closes the socket with 1009', async (t) => {
    const s = await server.connect('bigmouth')
    t.match(await s.request({ type: 'ping', pad: 'x'.repeat(3000) }), { type: 'pong' }, 'under the limit is fine')
    s.send({ type: 'ping', pad: 'x'.repeat(5000) })
    t.equal(await Promise.race([s.closed, sleep(3000).then(() => -1)]), 1009)
  })

  t.test('a binary frame gets bad_request and the socket stays usable', async (t) => {
    const s = await server.connect('binary')
    s.ws.send(Buffer.from(JSON.stringify({ type: 'ping', ref: 'bin' })), { binary: true })
    t.match(await s.next((f) => f.type === 'error'), { type: 'error', code: 'bad_request' })
    t.match(await s.request({ type: 'ping' }), { type: 'pong' })
    s.close()
  })

  t.test('sendPerSec: sends past the budget are rate_limited, not stored, and the socket stays open', async (t) => {
    const s = await server.connect('chatty')
    await s.request({ type: 'join', room: 'tight' })
    for (let i = 0; i < 10; i++) s.send({ type: 'send', room: 'tight', id: `c${i}`, text: `m${i}`, ref: `q${i}` })
    const replies = await s.collect(10, (f) => typeof f.ref === 'string' && f.ref.startsWith('q'))
    const acks = replies.filter((f) => f.type === 'ack')
    const limited = replies.filter((f) => f.type === 'error')
    t.ok(acks.length >= 5 && acks.length <= 6, `the burst (5) goes through (got ${acks.length})`)
    t.equal(acks.length + limited.length, 10)
    for (const e of limited) {
      t.equal(e.code, 'rate_limited')
      t.ok(typeof e.retryAfterMs === 'number' && e.retryAfterMs > 0 && e.retryAfterMs <= 1000, `retryAfterMs ${e.retryAfterMs as number} in (0, 1000]`)
    }
    await sleep(300)
    const ids = await storedIds(server, 'tight')
    t.strictSame(ids.sort(), acks.map((a) => a.id).sort(), 'exactly the acked sends are stored')
    t.match(await s.request({ type: 'ping' }), { type: 'pong' }, 'still open')

    // After the advertised wait, the budget is back.
    await sleep(Math.max(...limited.map((e) => e.retryAfterMs as number)) + 50)
    t.match(await s.request({ type: 'send', room: 'tight', id: 'later', text: 'ok' }), { type: 'ack', id: 'later' })
  })

  t.test('sendPerSec is per user across connections', async (t) => {
    const a = await server.connect('twin')
    const b = await server.connect('twin')
    await a.request({ type: 'join', room: 'tight' })
    await b.request({ type: 'join', room: 'tight' })
    for (let i = 0; i < 5; i++) a.send({ type: 'send', room: 'tight', id: `ta${i}`, text: 'a', ref: `x${i}` })
    for (let i = 0; i < 5; i++) b.send({ type: 'send', room: 'tight', id: `tb${i}`, text: 'b', ref: `x${i}` })
    const replies = [
      ...await a.collect(5, (f) => typeof f.ref === 'string' && f.ref.startsWith('x')),
      ...await b.collect(5, (f) => typeof f.ref === 'string' && f.ref.startsWith('x'))
    ]
    const acks = replies.filter((f) => f.type === 'ack').length
    t.ok(acks >= 5 && acks <= 6, `one budget for both connections (${acks} acks)`)
    t.ok(replies.filter((f) => f.type === 'error').every((f) => f.code === 'rate_limited'))
    a.close()
    b.close()
  })

  t.test('deltasPerSec: deltas past the budget are rate_limited and not appended; sends keep their own budget', async (t) => {
    const writer = await server.connect('streamer')
    const reader = await server.connect('reader')
    await writer.request({ type: 'join', room: 'tight' })
    await reader.request({ type: 'join', room: 'tight' })
    t.match(await writer.request({ type: 'stream.start', room: 'tight', id: 'st1' }), { type: 'ack', id: 'st1' })
    for (let i = 0; i < 10; i++) writer.send({ type: 'stream.delta', id: 'st1', text: `${i};`, ref: `d${i}` })
    const end = await writer.request({ type: 'stream.end', id: 'st1' })
    t.match(end, { type: 'ack', id: 'st1' })
    t.type(end.seq, 'number')
    const limited = writer.frames.filter((f) => f.type === 'error' && typeof f.ref === 'string' && f.ref.startsWith('d'))
    t.ok(limited.length >= 4 && limited.length <= 5, `the burst of 5 deltas passes (refused ${limited.length})`)
    for (const e of limited) {
      t.equal(e.code, 'rate_limited')
      t.ok(e.retryAfterMs > 0, 'retryAfterMs > 0')
    }
    const refused = new Set(limited.map((e) => Number((e.ref as string).slice(1))))
    const accepted = Array.from({ length: 10 }, (_, i) => i).filter((i) => !refused.has(i)).map((i) => `${i};`)
    const deltas = await reader.collect(accepted.length, (f) => f.type === 'stream.delta' && f.id === 'st1')
    t.strictSame(deltas.map((d) => d.text), accepted, 'members see only the accepted deltas, in order')
    const msg = await reader.next((f) => f.type === 'message' && f.id === 'st1')
    t.equal(msg.text, accepted.join(''), 'the stored text is the accepted deltas joined')
    t.ok(await reader.nothing((f) => f.type === 'stream.delta', 100), 'no refused delta leaks out')
    t.match(await writer.request({ type: 'send', room: 'tight', id: 'after-deltas', text: 'x' }), { type: 'ack' }, 'deltas do not spend sendPerSec')
    writer.close()
    reader.close()
  })
})

t.test('room limits, slow consumers', async (t) => {
  const server = await startServer(t, 'pglite', { PAN_SEND_PER_SEC: '100000', PAN_MAX_FRAME_BYTES: '65536', PAN_OUTBOUND_BUFFER_BYTES: '65536' })

  t.test("a room's config.sendPerSec applies per user in that room", async (t) => {
    await server.room('slowroom', { config: { sendPerSec: 2 } })
    await server.room('fastroom')
    const s = await server.connect('roomy')
    await s.request({ type: 'join', room: 'slowroom' })
    await s.request({ type: 'join', room: 'fastroom' })
    for (let i = 0; i < 6; i++) s.send({ type: 'send', room: 'slowroom', id: `s${i}`, text: 'x', ref: `r${i}` })
    const replies = await s.collect(6, (f) => typeof f.ref === 'string' && f.ref.startsWith('r'))
    const acks = replies.filter((f) => f.type === 'ack')
    t.ok(acks.length >= 2 && acks.length <= 3, `the room's burst of 2 passes (${acks.length} acks)`)
    for (const e of replies.filter((f) => f.type === 'error')) t.match(e, { code: 'rate_limited', retryAfterMs: Number })
    t.ok(replies.filter((f) => f.type === 'error').every((e) => e.retryAfterMs > 0))
    await sleep(200)
    t.strictSame((await storedIds(server, 'slowroom')).sort(), acks.map((a) => a.id).sort(), 'refused sends are not stored')
    t.match(await s.request({ type: 'send', room: 'fastroom', id: 'f1', text: 'x' }), { type: 'ack' }, 'another room is not limited by it')
    const other = await server.connect('roomy2')
    await other.request({ type: 'join', room: 'slowroom' })
    t.match(await other.request({ type: 'send', room: 'slowroom', id: 'o1', text: 'x' }), { type: 'ack' }, 'per user: another user has their own budget')
    s.close()
    other.close()
  })

  t.test("a room's config.maxMessageBytes: over it is too_large and not stored", async (t) => {
    await server.room('small', { config: { maxMessageBytes: 100 } })
    const s = await server.connect('verbose')
    await s.request({ type: 'join', room: 'small' })
    t.match(await s.request({ type: 'send', room: 'small', id: 'ok100', text: 'x'.repeat(100) }), { type: 'ack' }, 'exactly the limit is fine')
    t.match(await s.request({ type: 'send', room: 'small', id: 'big101', text: 'x'.repeat(101) }), { type: 'error', code: 'too_large' })
    t.match(await s.request({ type: 'send', room: 'small', id: 'utf8', text: 'é'.repeat(51) }), { type: 'error', code: 'too_large' }, 'UTF-8 bytes are counted, not chars')
    t.match(await s.request({ type: 'send', room: 'small', id: 'utf8ok', text: 'é'.repeat(50) }), { type: 'ack' })
    const data = { k: 'y'.repeat(42) } // serialised: {"k":"…"} = 50 bytes
    t.equal(JSON.stringify(data).length, 50)
    t.match(await s.request({ type: 'send', room: 'small', id: 'mix-ok', text: 'x'.repeat(50), data }), { type: 'ack' }, 'text plus serialised data at the limit')
    t.match(await s.request({ type: 'send', room: 'small', id: 'mix-big', text: 'x'.repeat(51), data }), { type: 'error', code: 'too_large' }, 'text plus serialised data over it')
    t.match(await s.request({ type: 'stream.start', room: 'small', id: 'big-stream' }), { type: 'ack' })
    s.send({ type: 'stream.delta', id: 'big-stream', text: 'z'.repeat(150) })
    t.match(await s.request({ type: 'stream.end', id: 'big-stream' }), { type: 'error', code: 'too_large' }, 'a stream is held to it too')
    await sleep(200)
    t.strictSame((await storedIds(server, 'small')).sort(), ['mix-ok', 'ok100', 'utf8ok'])
    t.match(await s.request({ type: 'ping' }), { type: 'pong' })
    s.close()
  })

  t.test('a client that stops reading is cut; the other members get everything', async (t) => {
    await server.room('firehose')
    const sender = await server.connect('hose')
    const fast = await server.connect('fast')
    await sender.request({ type: 'join', room: 'firehose' })
    await fast.request({ type: 'join', room: 'firehose' })

    const slow = new WebSocket(`${server.wsUrl}?token=${server.token('stalled')}`)
    slow.on('error', () => {})
    const [hello] = await once(slow, 'message') as [Buffer]
    t.match(JSON.parse(hello.toString()), { type: 'hello' })
    slow.send(JSON.stringify({ type: 'join', room: 'firehose', ref: 'j' }))
    await once(slow, 'message')
    let slowClosed = false
    slow.on('close', () => { slowClosed = true })
    const before = server.app.core.hub.connections.size
    t.equal(before, 3)
    // Stop reading: the kernel buffers fill, then the server's outbound buffer.
    ;(slow as unknown as { _socket: { pause: () => void, resume: () => void } })._socket.pause()

    const text = 'p'.repeat(30_000)
    let sent = 0
    const started = Date.now()
    // Keep pumping until the server cuts the stalled socket (bounded: ~60 MB at most).
    while (server.app.core.hub.connections.size === before && sent < 2000 && Date.now() - started < 20_000) {
      for (let i = 0; i < 50; i++) sender.send({ type: 'send', room: 'firehose', id: `h${sent + i}`, text })
      sent += 50
      await sender.collect(50, (f) => f.type === 'ack', 20_000)
    }
    t.ok(await eventually(() => server.app.core.hub.connections.size === before - 1, 3000), `the stalled client is cut (after ${sent} messages)`)
    const got = await fast.collect(sent, (f) => f.type === 'message', 20_000)
    t.strictSame(got.map((m) => m.id), Array.from({ length: sent }, (_, i) => `h${i}`), 'a reading member gets every message, in order')
    t.equal(fast.closeCode, undefined, 'the reading member stays connected')
    t.equal(sender.closeCode, undefined, 'the sender stays connected')

    ;(slow as unknown as { _socket: { resume: () => void } })._socket.resume()
    t.ok(await eventually(() => slowClosed, 5000), 'once it reads again, the stalled client finds its socket closed')
    sender.close()
    fast.close()
  })
})

t.test('heartbeat', async (t) => {
  const server = await startServer(t, 'pglite', { PAN_HEARTBEAT_MS: '200' })
  const healthy = await server.connect('healthy')
  t.equal(healthy.hello.heartbeatMs, 200)
  const deaf = new WebSocket(`${server.wsUrl}?token=${server.token('deaf')}`, { autoPong: false })
  deaf.on('error', () => {})
  await once(deaf, 'message')
  let pings = 0
  deaf.on('ping', () => { pings++ })
  const openedAt = Date.now()
  const [code] = await Promise.race([once(deaf, 'close'), sleep(3000).then(() => [-1])]) as [number]
  const elapsed = Date.now() - openedAt
  t.not(code, -1, 'a client that answers no ping is closed')
  t.ok(elapsed <= 1200, `within ~1 s (${elapsed} ms, ${pings} pings)`)
  t.ok(pings >= 2, 'after missing (at least) two pings')
  await sleep(600)
  t.equal(healthy.closeCode, undefined, 'a client that answers pings stays connected')
  t.match(await healthy.request({ type: 'ping' }), { type: 'pong' })
  t.equal(server.app.core.hub.connections.size, 1, 'the dead connection is gone from the hub')
  healthy.close()
})
