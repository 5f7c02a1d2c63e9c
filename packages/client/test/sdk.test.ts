import t from 'tap'
import type { Message } from '@pan/protocol'
import { connect, type PanClient, type StreamEvent } from '../src/index.ts'
import { createRoom, startServer, waitFor } from './helpers/server.ts'

const server = await startServer(t)
await createRoom(server, 'lobby')

async function client (sub: string, role: 'agent' | 'viewer' | 'admin' = 'agent'): Promise<PanClient> {
  const c = await connect(server.url, { token: server.token(sub, role, sub) })
  t.teardown(async () => { await c.close() })
  return c
}

t.test('join, send, receive: events and the async iterator, in seq order, own messages included', async (t) => {
  await createRoom(server, 'basics')
  const alice = await client('alice')
  const bob = await client('bob')
  t.equal(alice.user?.id, 'alice')
  const aliceRoom = await alice.join('basics')
  const bobRoom = await bob.join('basics')
  const seen: Message[] = []
  bobRoom.on('message', (m) => seen.push(m))

  const acks = await Promise.all([1, 2, 3].map(async (i) => await alice.send('basics', { text: `hello ${i}` })))
  t.strictSame(acks.map((a) => a.seq), [1, 2, 3], 'acks carry the committed seqs')
  t.ok(acks.every((a) => a.room === 'basics' && typeof a.id === 'string' && a.ts > 0))

  const mine: Message[] = []
  for await (const m of aliceRoom) {
    mine.push(m)
    if (mine.length === 3) break
  }
  t.strictSame(mine.map((m) => [m.seq, m.text, m.from.id]), [[1, 'hello 1', 'alice'], [2, 'hello 2', 'alice'], [3, 'hello 3', 'alice']])
  await waitFor(() => seen.length === 3, 'bob to see three messages')
  t.strictSame(seen.map((m) => m.seq), [1, 2, 3])
})

t.test('join with since replays history before live, and the iterator sees the replay', async (t) => {
  await createRoom(server, 'replay')
  const poster = await client('poster')
  for (const text of ['a', 'b', 'c']) await poster.send('replay', { text })
  const reader = await client('reader')
  const room = await reader.join('replay', { since: 1 })
  const got: string[] = []
  const posted = poster.send('replay', { text: 'd' })
  for await (const m of room) {
    got.push(`${m.seq}:${m.text ?? ''}`)
    if (got.length === 3) break
  }
  t.strictSame(got, ['2:b', '3:c', '4:d'])
  t.equal((await posted).seq, 4)
  t.equal(room.lastSeq, 4)
})

t.test('a re-send with the same id answers the original ack and stores nothing new', async (t) => {
  await createRoom(server, 'idem')
  const c = await client('idem-agent')
  const first = await c.send('idem', { id: 'fixed-id', text: 'once' })
  const again = await c.send('idem', { id: 'fixed-id', text: 'twice?' })
  t.strictSame(again, first)
  const history = await c.rest.history('idem')
  t.strictSame(history.items.map((m) => [m.id, m.text]), [['fixed-id', 'once']])
})

t.test('refusals reject with a typed error carrying the contract code', async (t) => {
  const viewer = await client('watcher', 'viewer')
  await viewer.join('lobby')
  const err = await viewer.send('lobby', { text: 'no' }).catch((e: unknown) => e)
  t.match(err, { name: 'RequestError', code: 'forbidden' })
  const agent = await client('lost-agent')
  t.match(await agent.join('no-such-room').catch((e: unknown) => e), { code: 'not_found' })
  t.match(await agent.send('no-such-room-either', { text: 'x' }).catch((e: unknown) => e), { code: 'not_found' })
  t.match(await agent.send('lobby', {}).catch((e: unknown) => e), { code: 'bad_request' })
  t.match(await agent.rest.createRoom({ id: 'nope', name: 'nope', visibility: 'public' }).catch((e: unknown) => e), { code: 'forbidden', status: 403 })
})

t.test('a stream: watchers see the deltas live, end stores one message with the whole text', async (t) => {
  await createRoom(server, 'streams')
  const writer = await client('llm')
  const watcher = await client('eyes')
  const room = await watcher.join('streams')
  const events: StreamEvent[] = []
  room.on('stream', (e) => events.push(e))
  const s = writer.stream('streams')
  for (const token of ['The ', 'quick ', 'brown ', 'fox']) {
    s.write(token)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
  const ack = await s.end()
  t.equal(ack.id, s.id)
  const [stored] = (await watcher.rest.history('streams', { after: ack.seq - 1, limit: 1 })).items
  t.equal(stored?.text, 'The quick brown fox')
  t.equal(stored?.stream?.status, 'complete')
  await waitFor(() => events.some((e) => e.type === 'stream.end'), 'stream.end at the watcher')
  const deltas = events.filter((e) => e.type === 'stream.delta').map((e) => e.type === 'stream.delta' ? e.text : '').join('')
  t.equal(deltas, 'The quick brown fox', 'the deltas arrived live and in order')
  t.equal(events[0]?.type, 'stream.start')
})

t.test('presence and state', async (t) => {
  await createRoom(server, 'presence')
  const a = await client('present-a')
  const b = await client('present-b')
  await a.join('presence')
  const roomB = await b.join('presence')
  const states: string[] = []
  roomB.on('presence', (e) => { if (e.type === 'presence.state') states.push(`${e.user.id}:${e.user.state}`) })
  a.setState('thinking')
  await waitFor(() => states.includes('present-a:thinking'), 'the state change at b')
  const members = await b.presence('presence')
  t.strictSame(members.map((m) => [m.id, m.state]).sort(), [['present-a', 'thinking'], ['present-b', 'idle']])
})

t.test('sending first joins quietly; a later join with since still replays from there', async (t) => {
  await createRoom(server, 'send-first')
  const c = await client('send-first-agent')
  const first = await c.send('send-first', { text: 'first' })
  const inFlight = c.send('send-first', { text: 'second' })
  const room = await c.join('send-first', { since: 0 })
  const got: string[] = []
  for await (const m of room) {
    got.push(`${m.seq}:${m.text ?? ''}`)
    if (got.length === 2) break
  }
  t.equal(first.seq, 1)
  t.equal((await inFlight).seq, 2)
  t.strictSame(got, ['1:first', '2:second'])

  await createRoom(server, 'send-first-racing')
  const racing = c.send('send-first-racing', { text: 'racing' }) // its quiet join is still in flight
  const raced = await c.join('send-first-racing', { since: 0 })
  const { value } = await raced.messages().next()
  t.match(value, { seq: 1, text: 'racing' })
  t.equal((await racing).seq, 1)
})
