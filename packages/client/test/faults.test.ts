import t, { type Test } from 'tap'
import type { Message } from '@pan/protocol'
import { PanClient, type PanError, type SeqRange } from '../src/index.ts'
import { faultySockets } from './helpers/faulty-socket.ts'
import { createRoom, startServer, waitFor } from './helpers/server.ts'

const server = await startServer(t)

function client (t: Test, sub: string, options: Partial<ConstructorParameters<typeof PanClient>[1]> = {}): PanClient {
  const c = new PanClient(server.url, { token: server.token(sub, 'agent', sub), ...options })
  t.teardown(async () => { await c.close() })
  return c
}

t.test('messages lost on the wire are read back over REST: the application sees no gap', async (t) => {
  await createRoom(server, 'gappy')
  const lost = new Set([2, 3, 5])
  const wire = faultySockets((f) => f.type === 'message' && lost.has(f.seq as number))
  const reader = client(t, 'reader', { createSocket: wire.factory })
  await reader.connect()
  const room = await reader.join('gappy')
  const got: Message[] = []
  const truncated: SeqRange[] = []
  room.on('message', (m) => got.push(m))
  room.on('truncated', (r) => truncated.push(r))
  const writer = client(t, 'writer')
  for (let i = 1; i <= 6; i++) await writer.send('gappy', { text: `m${i}` })
  await waitFor(() => got.length === 6, 'six messages at the reader')
  t.strictSame(got.map((m) => `${m.seq}:${m.text ?? ''}`), ['1:m1', '2:m2', '3:m3', '4:m4', '5:m5', '6:m6'])
  t.strictSame(truncated, [], 'nothing reported lost: history had it all')
})

t.test('acks lost with the connection: sends are retried with their ids, each stored once, with the original seq', async (t) => {
  await createRoom(server, 'lost-acks')
  let dropAcks = true
  const wire = faultySockets((f) => dropAcks && f.type === 'ack')
  const sender = client(t, 'sender', { createSocket: wire.factory })
  await sender.connect()
  await sender.join('lost-acks')
  const sends = Array.from({ length: 10 }, async (_, i) => await sender.send('lost-acks', { text: `n${i}` }))
  // Every message is committed, but no ack reached the client.
  await waitFor(() => sender.pendingSends === 10, 'ten sends in flight')
  const deadline = Date.now() + 10_000
  while ((await server.http('GET', '/v1/rooms/lost-acks')).body.lastSeq < 10 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50))
  dropAcks = false
  wire.dropLatest()
  const acks = await Promise.all(sends)
  t.equal(wire.opened.length, 2, 'one reconnect')
  t.strictSame(acks.map((a) => a.seq), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 'the original seqs, in send order')
  const history = await sender.rest.history('lost-acks', { limit: 100 })
  t.equal(history.items.length, 10, 'stored once each')
  t.strictSame(history.items.map((m) => m.id), acks.map((a) => a.id))
})

t.test('a refused token stops the client: a typed error, no reconnect loop', async (t) => {
  const wire = faultySockets()
  const bad = new PanClient(server.url, { token: 'not-a-jwt', createSocket: wire.factory })
  t.teardown(async () => { await bad.close() })
  const err = await bad.connect().catch((e: unknown) => e)
  t.match(err, { name: 'UnauthorizedError', code: 'PAN_CLIENT_UNAUTHORIZED' })
  await new Promise((resolve) => setTimeout(resolve, 1000))
  t.equal(wire.opened.length, 1, 'no second attempt')
  t.equal(bad.state, 'closed')
  t.match(await bad.send('lobby', { text: 'x' }).catch((e: unknown) => e), { code: 'PAN_CLIENT_UNAUTHORIZED' })

  let asked = 0
  const refreshing = new PanClient(server.url, { getToken: () => { asked++; return 'still-not-a-jwt' }, reconnect: { baseMs: 10 } })
  t.teardown(async () => { await refreshing.close() })
  t.match(await refreshing.connect().catch((e: unknown) => e), { code: 'PAN_CLIENT_UNAUTHORIZED' })
  t.equal(asked, 2, 'with getToken, one more try with a fresh token, then stop')
})

t.test('a network ban stops the client: 4003, everything pending rejected, no reconnect', async (t) => {
  await createRoom(server, 'ban-me')
  const wire = faultySockets()
  const victim = client(t, 'victim', { createSocket: wire.factory })
  await victim.connect()
  const room = await victim.join('ban-me')
  const errors: PanError[] = []
  victim.on('error', (e) => errors.push(e))
  const iterating = (async () => { for await (const m of room) t.fail(`unexpected message ${m.seq}`) })().catch((e: unknown) => e)
  const ban = await server.http('POST', '/v1/bans', { body: { user: 'victim', reason: 'test' } })
  t.equal(ban.status, 201)
  t.match(await iterating, { name: 'BannedError', code: 'PAN_CLIENT_BANNED' }, 'the iterator throws the ban')
  t.strictSame(errors.map((e) => e.code), ['PAN_CLIENT_BANNED'])
  t.match(await victim.send('ban-me', { text: 'x' }).catch((e: unknown) => e), { code: 'PAN_CLIENT_BANNED' })
  await new Promise((resolve) => setTimeout(resolve, 1000))
  t.equal(wire.opened.length, 1, 'never reconnected')
  await server.http('DELETE', `/v1/bans/${ban.body.id as string}`)
})

t.test('a room ban kicks: the kicked event fires, the iterator throws, the room is not rejoined', async (t) => {
  await createRoom(server, 'kick-me')
  const agent = client(t, 'kickee')
  await agent.connect()
  const room = await agent.join('kick-me')
  const kicked: string[] = []
  room.on('kicked', (e) => kicked.push(e.reason))
  const iterating = (async () => { for await (const m of room) t.fail(`unexpected message ${m.seq}`) })().catch((e: unknown) => e)
  t.equal((await server.http('POST', '/v1/bans', { body: { user: 'kickee', room: 'kick-me' } })).status, 201)
  t.match(await iterating, { name: 'KickedError', code: 'PAN_CLIENT_KICKED', room: 'kick-me' })
  t.strictSame(kicked, ['banned'])
  t.match(await agent.send('kick-me', { text: 'x' }).catch((e: unknown) => e), { code: 'banned' }, 'the room refuses the auto-join')
  t.equal(agent.state, 'open', 'the client itself carries on')
})

t.test('the queue is bounded: beyond maxQueued, send rejects with QueueFullError', async (t) => {
  await createRoom(server, 'bounded')
  const c = client(t, 'queuer', { maxQueued: 3 })
  await c.connect()
  await c.join('bounded')
  await server.stop()
  await waitFor(() => c.state === 'reconnecting', 'the client to notice')
  const queued = [1, 2, 3].map(async (i) => await c.send('bounded', { text: `q${i}` }))
  t.match(await c.send('bounded', { text: 'q4' }).catch((e: unknown) => e), { name: 'QueueFullError', code: 'PAN_CLIENT_QUEUE_FULL' })
  await server.start()
  const acks = await Promise.all(queued)
  t.strictSame(acks.map((a) => a.seq), [1, 2, 3], 'the queued ones go out after the restart')
})

t.test('a stream cut while the server lives: it stores the partial text as interrupted, and end() says so', async (t) => {
  await createRoom(server, 'cut-stream')
  const watcher = client(t, 'cut-watcher')
  await watcher.connect()
  let seen = ''
  ;(await watcher.join('cut-stream')).on('stream', (e) => { if (e.type === 'stream.delta') seen += e.text })
  const wire = faultySockets()
  const writer = client(t, 'cut-writer', { createSocket: wire.factory })
  await writer.connect()
  const stream = writer.stream('cut-stream')
  stream.write('before the cut, ')
  await waitFor(() => seen === 'before the cut, ', 'the first delta at the watcher')
  wire.dropLatest()
  stream.write('and after it.')
  // The server stores what it had when it sees the close; end only once that is visible.
  const deadline = Date.now() + 10_000
  while ((await server.http('GET', '/v1/rooms/cut-stream')).body.lastSeq < 1 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50))
  const err = await stream.end().catch((e: unknown) => e)
  t.match(err, { name: 'StreamInterruptedError', code: 'PAN_CLIENT_STREAM_INTERRUPTED', seq: 1, storedText: 'before the cut, ', id: stream.id })
  const stored = (await server.http('GET', '/v1/rooms/cut-stream/messages?after=0')).body.items
  t.match(stored, [{ id: stream.id, text: 'before the cut, ', stream: { status: 'interrupted' } }])
  t.equal(stored.length, 1, 'still one message for the stream id')
})
