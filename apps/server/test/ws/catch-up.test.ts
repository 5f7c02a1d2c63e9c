import t from 'tap'
import { commitMessages } from '@pan/db'
import { eachDatabase, startServer } from '../helpers.ts'

/**
 * A payload the bus drops (Redis restarted, a subscriber cut) may be the room's last one, so no
 * later seq reveals the gap. Rows committed straight to the database stand in for another
 * replica's writes whose publish was lost: the replica must find and deliver them on its own.
 */
eachDatabase(t, async (t, kind) => {
  const server = await startServer(t, kind, { PAN_CATCHUP_MS: '100' })
  await server.room('lobby')
  const alice = await server.connect('alice')
  await alice.request({ type: 'join', room: 'lobby' })
  const first = await alice.request({ type: 'send', room: 'lobby', id: 'live-1', text: 'through the bus' })
  t.match(first, { type: 'ack', seq: 1 })
  await alice.next((f) => f.type === 'message' && f.seq === 1)

  t.test('messages committed without a publish still reach members, in order, with no duplicate', async (t) => {
    const lost = [1, 2, 3].map((n) => ({ roomId: 'lobby', clientId: `lost-${n}`, senderId: 'bob', senderName: 'Bob', text: `lost ${n}` }))
    await commitMessages(server.app.database.db, lost)
    const frames = await alice.collect(3, (f) => f.type === 'message', 5000)
    t.strictSame(frames.map((f) => [f.seq, f.id, f.text]), [[2, 'lost-1', 'lost 1'], [3, 'lost-2', 'lost 2'], [4, 'lost-3', 'lost 3']])
    t.ok(await alice.nothing((f) => f.type === 'message', 400), 'each delivered once')

    const after = await alice.request({ type: 'send', room: 'lobby', id: 'live-2', text: 'and live again' })
    t.match(after, { type: 'ack', seq: 5 })
    t.match(await alice.next((f) => f.type === 'message'), { seq: 5, id: 'live-2' })
  })

  t.test('the gap is counted as detected and filled', async (t) => {
    const res = await fetch(`${server.url}/metrics`)
    const text = await res.text()
    const count = (event: string): number => Number(new RegExp(`^pan_bus_gaps_total\\{event="${event}"\\} (\\d+)`, 'm').exec(text)?.[1] ?? 0)
    t.ok(count('detected') >= 1, `detected ${count('detected')}`)
    t.ok(count('filled') >= 1, `filled ${count('filled')}`)
  })
})
