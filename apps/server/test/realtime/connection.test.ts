import { once } from 'node:events'
import type { AddressInfo } from 'node:net'
import t, { type Test } from 'tap'
import WebSocket, { WebSocketServer } from 'ws'
import { Connection, DEFERRED_FLUSH_MS, Rooms, type Membership } from '../../src/realtime/connection.ts'
import { joinWire, prepareFrame } from '../../src/realtime/frame.ts'

type Tap = Test

/** A server socket wrapped in a Connection, and the client end collecting what it receives. */
async function pair (t: Tap, options: { perMessageDeflate?: boolean, outboundCapBytes?: number, onSlowConsumer?: () => void } = {}): Promise<{ conn: Connection, client: WebSocket, received: string[], until: (n: number) => Promise<void> }> {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', perMessageDeflate: options.perMessageDeflate ?? false })
  await once(wss, 'listening')
  const { port } = wss.address() as AddressInfo
  const client = new WebSocket(`ws://127.0.0.1:${port}`, { perMessageDeflate: options.perMessageDeflate ?? false })
  const [[socket]] = await Promise.all([once(wss, 'connection') as Promise<[WebSocket]>, once(client, 'open')])
  t.teardown(async () => {
    client.terminate()
    socket.terminate()
    await new Promise((resolve) => wss.close(resolve))
  })
  const received: string[] = []
  const waiters: Array<() => void> = []
  client.on('message', (data, isBinary) => {
    received.push(isBinary ? '<binary>' : (data as Buffer).toString('utf8'))
    for (const w of waiters.splice(0)) w()
  })
  const until = async (n: number): Promise<void> => {
    while (received.length < n) await new Promise<void>((resolve) => waiters.push(resolve))
  }
  const conn = new Connection('c1', socket, {
    outboundCapBytes: options.outboundCapBytes ?? 1024 * 1024,
    onSlowConsumer: options.onSlowConsumer ?? (() => { t.fail('not a slow consumer') })
  })
  return { conn, client, received, until }
}

// Every payload length encoding of RFC 6455 §5.2: 7-bit, 16-bit (126..65535), 64-bit (≥ 65536).
const sizes = [1, 125, 126, 127, 65535, 65536, 70_000]

for (const perMessageDeflate of [false, true]) {
  t.test(`frames of every length arrive intact (permessage-deflate ${perMessageDeflate ? 'on: the fallback' : 'off'})`, async (t) => {
    const { conn, client, received, until } = await pair(t, { perMessageDeflate })
    t.equal(client.extensions.includes('permessage-deflate'), perMessageDeflate)
    const texts = sizes.map((n, i) => String.fromCharCode(97 + i).repeat(n))
    for (const text of texts) conn.writeFrame(prepareFrame(text))
    await until(texts.length)
    t.strictSame(received.map((r) => r.length), sizes)
    t.strictSame(received, texts)
  })
}

t.test('frames written in one turn arrive complete and in order, in one flush', async (t) => {
  const { conn, received, until } = await pair(t)
  const batch = ['{"n":2}', '{"n":3}', '{"n":4}'].map(prepareFrame)
  conn.write('{"n":1}')
  conn.writeFrames(batch, joinWire(batch))
  conn.writeFrame(prepareFrame('{"n":5}'))
  conn.send({ n: 6, text: 'é'.repeat(200) })
  const tcp = (conn.socket as unknown as { _socket: { writableCorked: number } })._socket
  t.equal(tcp.writableCorked, 1, 'the frames wait for the end of the turn')
  await new Promise((resolve) => setImmediate(resolve))
  t.equal(tcp.writableCorked, 0, 'and go out one setImmediate later')
  await until(6)
  t.strictSame(received.map((r) => (JSON.parse(r) as { n: number }).n), [1, 2, 3, 4, 5, 6])
  t.equal((JSON.parse(received[5] as string) as { text: string }).text, 'é'.repeat(200), 'UTF-8 text survives')
})

t.test('a deferred frame waits for company; a frame written after it releases both, in order', async (t) => {
  const { conn, received, until } = await pair(t)
  const tcp = (conn.socket as unknown as { _socket: { writableCorked: number } })._socket
  conn.writeFrameDeferred(prepareFrame('{"n":1}'))
  await new Promise((resolve) => setImmediate(resolve))
  conn.writeFrameDeferred(prepareFrame('{"n":2}'))
  await new Promise((resolve) => setImmediate(resolve))
  t.equal(tcp.writableCorked, 1, 'deferred frames of several turns wait together')
  await until(2)
  t.strictSame(received, ['{"n":1}', '{"n":2}'], `and go out within ${DEFERRED_FLUSH_MS} ms`)
  t.equal(tcp.writableCorked, 0)

  conn.writeFrameDeferred(prepareFrame('{"n":3}'))
  await new Promise((resolve) => setImmediate(resolve))
  conn.writeFrame(prepareFrame('{"n":4}'))
  await new Promise((resolve) => setImmediate(resolve))
  t.equal(tcp.writableCorked, 0, 'a frame that may not wait releases the deferred one at the end of its turn')
  await until(4)
  t.strictSame(received.slice(2), ['{"n":3}', '{"n":4}'], 'in the order written')
})

t.test('a socket over its outbound cap is cut instead of written to', async (t) => {
  let slow = 0
  const { conn, client, received, until } = await pair(t, { outboundCapBytes: 64 * 1024, onSlowConsumer: () => { slow++ } })
  const big = prepareFrame('x'.repeat(60_000))
  for (let i = 0; i < 3; i++) conn.writeFrame(big)
  t.equal(slow, 0, 'what one turn writes is a burst, not a backlog, even past the cap')
  // The client stops reading: the kernel buffers fill, then the process's queue grows turn by turn.
  ;(client as unknown as { _socket: { pause: () => void, resume: () => void } })._socket.pause()
  let written = 3
  for (let turn = 0; turn < 2000; turn++) {
    await new Promise((resolve) => setImmediate(resolve))
    conn.writeFrame(big)
    if (slow > 0) break
    written++
  }
  t.equal(slow, 1, 'a write while earlier turns left more than the cap queued reports a slow consumer')
  ;(client as unknown as { _socket: { resume: () => void } })._socket.resume()
  await until(written)
  await new Promise((resolve) => setTimeout(resolve, 50))
  t.equal(received.length, written, 'and is not written')
})

t.test('a closed connection writes nothing', async (t) => {
  const { conn, client, received } = await pair(t)
  conn.close(1000, 'bye')
  conn.writeFrame(prepareFrame('{"late":true}'))
  const [code] = await once(client, 'close') as [number]
  t.equal(code, 1000)
  t.strictSame(received, [])
})

t.test('stream state is created on first use', async (t) => {
  const { conn } = await pair(t)
  conn.rememberFinishedStream('s1', { type: 'ack', room: 'r', id: 's1', seq: 1, ts: 1 })
  t.strictSame(conn.finishedStreams.get('s1'), { type: 'ack', room: 'r', id: 's1', seq: 1, ts: 1 })
  conn.streams.set('s2', { room: 'r' })
  t.equal(conn.streams.get('s2')?.room, 'r')
})

t.test('Rooms behaves as a Map of room id to membership, in join order', async (t) => {
  const m = (lastSeq: number): Membership => ({ lastSeq, replaying: false, pending: undefined, inPresence: false })
  const rooms = new Rooms()
  t.equal(rooms.size, 0)
  t.equal(rooms.get('a'), undefined)
  t.notOk(rooms.delete('a'))
  const a = m(1)
  rooms.set('a', a)
  rooms.set('a', a)
  t.equal(rooms.size, 1)
  t.equal(rooms.get('a'), a)
  t.notOk(rooms.has('b'))
  rooms.set('b', m(2))
  rooms.set('c', m(3))
  t.equal(rooms.size, 3)
  t.strictSame(rooms.keys(), ['a', 'b', 'c'])
  t.strictSame([...rooms].map(([id, x]) => [id, x.lastSeq]), [['a', 1], ['b', 2], ['c', 3]])
  t.ok(rooms.delete('b'))
  t.notOk(rooms.has('b'))
  t.strictSame(rooms.keys(), ['a', 'c'])
  const single = new Rooms()
  single.set('x', m(7))
  t.ok(single.delete('x'))
  t.equal(single.size, 0)
  t.strictSame([...single], [])
  single.set('y', m(8))
  t.strictSame(single.keys(), ['y'])
})
