import t from 'tap'
import { eachDatabase, startServer } from '../helpers.ts'

eachDatabase(t, async (t, kind) => {
  const server = await startServer(t, kind)
  await server.room('lobby')
  const alice = await server.connect('alice', 'agent', 'Alice')
  const bob = await server.connect('bob')
  await alice.request({ type: 'join', room: 'lobby' })
  await bob.request({ type: 'join', room: 'lobby' })

  t.test('every member, the sender included, receives the stored message after the ack', async (t) => {
    const ack = await alice.request({ type: 'send', room: 'lobby', id: 'm1', text: 'hi', data: { k: 1 } })
    t.match(ack, { type: 'ack', room: 'lobby', id: 'm1', seq: 1 })
    t.type(ack.ts, 'number')
    for (const s of [alice, bob]) {
      const msg = await s.next((f) => f.type === 'message')
      t.strictSame(msg, { type: 'message', room: 'lobby', seq: 1, id: 'm1', from: { id: 'alice', name: 'Alice' }, text: 'hi', data: { k: 1 }, ts: ack.ts })
    }
  })

  t.test('a re-send of a known id answers the original ack and stores nothing', async (t) => {
    const again = await alice.request({ type: 'send', room: 'lobby', id: 'm1', text: 'different' })
    t.match(again, { type: 'ack', seq: 1, id: 'm1' })
    const empty = await alice.request({ type: 'send', room: 'lobby', id: 'm1' })
    t.match(empty, { type: 'ack', seq: 1, id: 'm1', ts: again.ts }, 'even content that would be refused answers the original ack')
    t.ok(await bob.nothing((f) => f.type === 'message'), 'no second message')
    const history = await server.http('GET', '/v1/rooms/lobby/messages')
    if (history.status === 200) t.equal(history.body.items.length, 1)
  })

  t.test('send needs a prior join on that connection', async (t) => {
    const carol = await server.connect('carol')
    const err = await carol.request({ type: 'send', room: 'lobby', id: 'x', text: 'no' })
    t.match(err, { type: 'error', code: 'forbidden' })
  })

  t.test('a viewer may watch but not send', async (t) => {
    const viewer = await server.connect('dash', 'viewer')
    await viewer.request({ type: 'join', room: 'lobby' })
    const err = await viewer.request({ type: 'send', room: 'lobby', id: 'v1', text: 'no' })
    t.match(err, { type: 'error', code: 'forbidden' })
  })

  t.test('send with neither text nor data is a bad request; unknown room is not_found', async (t) => {
    t.match(await alice.request({ type: 'send', room: 'lobby', id: 'e1' }), { type: 'error', code: 'bad_request' })
    t.match(await alice.request({ type: 'join', room: 'nowhere' }), { type: 'error', code: 'not_found' })
  })

  t.test('concurrent senders get gapless seqs and every member sees them in order', async (t) => {
    const senders = await Promise.all(['s1', 's2', 's3', 's4'].map(async (id) => await server.connect(id)))
    await Promise.all(senders.map(async (s) => await s.request({ type: 'join', room: 'lobby' })))
    const perSender = 25
    for (let i = 0; i < perSender; i++) {
      for (const [n, s] of senders.entries()) s.send({ type: 'send', room: 'lobby', id: `c${n}-${i}`, text: `${n}:${i}` })
    }
    const total = perSender * senders.length
    const seen = await bob.collect(total, (f) => f.type === 'message', 20000)
    const seqs = seen.map((m) => m.seq)
    t.strictSame(seqs, Array.from({ length: total }, (_, i) => i + 2), 'seq 2..N+1 in order, no gap')
    const acks = await Promise.all(senders.map(async (s) => await s.collect(perSender, (f) => f.type === 'ack', 20000)))
    t.equal(new Set(acks.flat().map((a) => a.seq)).size, total, 'every ack has its own seq')
  })
})
