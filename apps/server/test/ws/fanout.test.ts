import t from 'tap'
import { startServer } from '../helpers.ts'

t.test('fan-out of pre-framed, coalesced writes', async (t) => {
  const server = await startServer(t, 'pglite', { PAN_SEND_PER_SEC: '100000', PAN_MAX_FRAME_BYTES: '262144' })
  await server.room('burst')
  await server.room('crowd')

  t.test('a burst of messages reaches every member complete and in seq order', async (t) => {
    const alice = await server.connect('burst-alice')
    const bob = await server.connect('burst-bob')
    await alice.request({ type: 'join', room: 'burst' })
    await bob.request({ type: 'join', room: 'burst' })
    const n = 200
    // Not awaited one by one: the commits batch several messages, delivered as one write per socket.
    for (let i = 0; i < n; i++) alice.send({ type: 'send', room: 'burst', id: `b${i}`, text: `m${i} ${'é'.repeat(i % 50)}` })
    await alice.collect(n, (f) => f.type === 'ack')
    for (const s of [alice, bob]) {
      const got = await s.collect(n, (f) => f.type === 'message')
      t.strictSame(got.map((m) => m.seq), Array.from({ length: n }, (_, i) => i + 1), 'seq order, no gap, no duplicate')
      t.strictSame(got.map((m) => m.id), Array.from({ length: n }, (_, i) => `b${i}`), 'in the order sent')
      t.ok(got.every((m, i) => m.text === `m${i} ${'é'.repeat(i % 50)}`), 'texts intact')
    }
    alice.close()
    bob.close()
  })

  t.test('a message over 64 KiB (64-bit frame length) arrives intact', async (t) => {
    const alice = await server.connect('big-alice')
    const bob = await server.connect('big-bob')
    await alice.request({ type: 'join', room: 'burst' })
    await bob.request({ type: 'join', room: 'burst' })
    const text = 'z'.repeat(70_000)
    t.match(await alice.request({ type: 'send', room: 'burst', id: 'big', text }), { type: 'ack' })
    const msg = await bob.next((f) => f.type === 'message' && f.id === 'big')
    t.equal(msg.text, text)
    alice.close()
    bob.close()
  })

  t.test('members joining one after another: each earlier member gets one presence.join per later user', async (t) => {
    const n = 25
    const sockets = []
    for (let i = 0; i < n; i++) {
      const s = await server.connect(`crowd-${i}`)
      await s.request({ type: 'join', room: 'crowd' })
      sockets.push(s)
    }
    for (const [i, s] of sockets.entries()) {
      const expected = Array.from({ length: n - i - 1 }, (_, k) => `crowd-${i + k + 1}`)
      const joins = await s.collect(expected.length, (f) => f.type === 'presence.join')
      t.strictSame(joins.map((f) => f.user.id), expected, `member ${i}: the later users, in join order`)
      t.ok(await s.nothing((f) => f.type === 'presence.join', 50), `member ${i}: nothing more, nothing for itself`)
    }
    for (const s of sockets) s.close()
  })
})
