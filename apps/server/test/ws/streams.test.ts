import t from 'tap'
import { eachDatabase, startServer } from '../helpers.ts'

eachDatabase(t, async (t, kind) => {
  const server = await startServer(t, kind, { PAN_STREAM_IDLE_MS: '300' })
  await server.room('studio')
  const writer = await server.connect('writer', 'agent', 'Writer')
  const reader = await server.connect('reader')
  await writer.request({ type: 'join', room: 'studio' })
  await reader.request({ type: 'join', room: 'studio' })

  t.test('a completed stream: members see start, deltas and end, then one stored message', async (t) => {
    t.match(await writer.request({ type: 'stream.start', room: 'studio', id: 's1' }), { type: 'ack', room: 'studio', id: 's1' })
    t.match(await reader.next((f) => f.type === 'stream.start'), { room: 'studio', id: 's1', from: { id: 'writer', name: 'Writer' } })
    writer.send({ type: 'stream.delta', id: 's1', text: 'Hel' })
    writer.send({ type: 'stream.delta', id: 's1', text: 'lo' })
    const deltas = await reader.collect(2, (f) => f.type === 'stream.delta')
    t.strictSame(deltas.map((d) => d.text), ['Hel', 'lo'])

    const late = await server.connect('late')
    await late.request({ type: 'join', room: 'studio' })
    t.match(await late.next((f) => f.type === 'stream.start'), { id: 's1', text: 'Hello' }, 'a mid-stream joiner gets the text so far')

    const ack = await writer.request({ type: 'stream.end', id: 's1' })
    t.match(ack, { type: 'ack', room: 'studio', id: 's1', seq: 1 })
    t.match(await reader.next((f) => f.type === 'stream.end'), { id: 's1', status: 'complete', seq: 1 })
    t.match(await reader.next((f) => f.type === 'message'), { id: 's1', seq: 1, text: 'Hello', stream: { status: 'complete' } })
    t.match(await writer.next((f) => f.type === 'message'), { id: 's1', seq: 1 }, 'the sender gets the final message')
    t.ok(await writer.nothing((f) => typeof f.type === 'string' && f.type.startsWith('stream.')), 'but not its own stream events')
    t.match(await writer.request({ type: 'stream.end', id: 's1' }), { type: 'ack', seq: 1, ts: ack.ts }, 'a repeated end answers the original ack')
    t.match(await writer.request({ type: 'stream.delta', id: 's1', text: 'more' }), { type: 'error', code: 'not_found' })
    t.match(await writer.request({ type: 'stream.delta', id: 'nope', text: 'x' }), { type: 'error', code: 'not_found' })
  })

  t.test('an aborted stream stores nothing', async (t) => {
    await writer.request({ type: 'stream.start', room: 'studio', id: 's2' })
    writer.send({ type: 'stream.delta', id: 's2', text: 'draft' })
    writer.send({ type: 'stream.abort', id: 's2' })
    t.match(await reader.next((f) => f.type === 'stream.end' && f.id === 's2'), { status: 'aborted' })
    t.notOk((await reader.next((f) => f.type === 'stream.end' && f.id === 's2', 300).catch(() => null)), 'no second end')
    t.ok(await reader.nothing((f) => f.type === 'message' && f.id === 's2'))
  })

  t.test('a silent stream is stored as interrupted with the text so far', async (t) => {
    await writer.request({ type: 'stream.start', room: 'studio', id: 's3' })
    writer.send({ type: 'stream.delta', id: 's3', text: 'partial' })
    t.match(await reader.next((f) => f.type === 'stream.end' && f.id === 's3', 3000), { status: 'interrupted', seq: 2 })
    t.match(await reader.next((f) => f.type === 'message' && f.id === 's3'), { text: 'partial', stream: { status: 'interrupted' } })
  })

  t.test('a stream whose sender disconnects is interrupted', async (t) => {
    const quitter = await server.connect('quitter')
    await quitter.request({ type: 'join', room: 'studio' })
    await quitter.request({ type: 'stream.start', room: 'studio', id: 's4' })
    quitter.send({ type: 'stream.delta', id: 's4', text: 'bye' })
    await reader.next((f) => f.type === 'stream.delta' && f.id === 's4')
    quitter.terminate()
    t.match(await reader.next((f) => f.type === 'stream.end' && f.id === 's4'), { status: 'interrupted', seq: 3 })
    t.match(await reader.next((f) => f.type === 'message' && f.id === 's4'), { text: 'bye', from: { id: 'quitter' } })
  })

  t.test('stream.start with the id of a stored message answers its ack and opens nothing', async (t) => {
    // s3 was stored as interrupted above: a client re-opening it after a reconnect learns that.
    reader.frames.length = 0
    const again = await writer.request({ type: 'stream.start', room: 'studio', id: 's3' })
    t.match(again, { type: 'ack', room: 'studio', id: 's3', seq: 2 })
    t.type(again.ts, 'number')
    t.ok(await reader.nothing((f) => f.type === 'stream.start' && f.id === 's3', 300), 'no stream is announced')
    t.match(await writer.request({ type: 'stream.delta', id: 's3', text: 'more' }), { type: 'error', code: 'not_found' })
  })
})
