import t from 'tap'
import { TestSocket, eachDatabase, startServer } from './helpers.ts'

/** The in-process half of a graceful drain; the SIGTERM half runs on real replicas in packages/cluster. */
eachDatabase(t, async (t, kind) => {
  const server = await startServer(t, kind)
  await server.room('lobby')
  const sockets = await Promise.all(['a', 'b', 'c', 'd', 'e'].map(async (id) => await server.connect(id)))
  await Promise.all(sockets.map(async (s) => await s.request({ type: 'join', room: 'lobby' })))
  t.equal((await fetch(`${server.url}/readyz`)).status, 200, 'ready before the drain')

  const before = await sockets[0]?.request({ type: 'send', room: 'lobby', id: 'before', text: 'acked before the drain' })
  t.match(before, { type: 'ack', seq: 1 })
  const closedAt = new Map<TestSocket, number>()
  for (const s of sockets) s.closed.then(() => { closedAt.set(s, Date.now()) }, () => {})
  const drained = server.app.core.gateway.drain(1000)
  // Sends racing the drain: each is acked, refused, or lost with its socket (never half-stored).
  const racing = sockets.map((s, i) => {
    const id = `during-${i}`
    s.send({ type: 'send', room: 'lobby', id, text: `racing ${i}`, ref: id })
    return s.next((f) => f.ref === id, 3000).then((f) => (f.type === 'ack' ? id : undefined), () => undefined)
  })

  t.test('readiness fails and new upgrades are refused with 503 while draining', async (t) => {
    const ready = await fetch(`${server.url}/readyz`)
    t.equal(ready.status, 503)
    t.match(await ready.json(), { statusCode: 503, code: 'unavailable', message: 'draining' })
    const late = await TestSocket.open(`${server.wsUrl}?token=${server.token('late')}`).catch((err: Error) => err)
    t.ok(late instanceof Error ? /503/.test(late.message) : late.closeCode !== undefined, 'the upgrade is refused')
  })

  t.test('every open socket is closed with 1012, spread over the window, not all at once', async (t) => {
    await drained
    const codes = await Promise.all(sockets.map(async (s) => await s.closed))
    t.strictSame(codes, [1012, 1012, 1012, 1012, 1012])
    const times = [...closedAt.values()].sort((a, b) => a - b)
    t.ok((times.at(-1) ?? 0) - (times[0] ?? 0) >= 500, `closes spread over ${(times.at(-1) ?? 0) - (times[0] ?? 0)} ms of a 1000 ms window`)
  })

  t.test('acked sends are stored, and retrying every racing send stores each exactly once', async (t) => {
    await drained
    await server.app.core.batcher.flush()
    const acked = (await Promise.all(racing)).filter((id) => id !== undefined)
    const stored = async (): Promise<string[]> => (await server.http('GET', '/v1/rooms/lobby/messages?limit=100')).body.items.map((m: any) => m.id).sort()
    const beforeRetry = await stored()
    t.ok(beforeRetry.includes('before'), 'the message acked before the drain is kept')
    for (const id of acked) t.ok(beforeRetry.includes(id), `acked ${id} is stored`)
    for (let i = 0; i < sockets.length; i++) {
      const retry = await server.http('POST', '/v1/rooms/lobby/messages', { as: ['a', 'b', 'c', 'd', 'e'][i], body: { id: `during-${i}`, text: `racing ${i}` } })
      t.ok(retry.status === 200 || retry.status === 201, `retry of during-${i}: ${retry.status}`)
    }
    t.strictSame(await stored(), ['before', 'during-0', 'during-1', 'during-2', 'during-3', 'during-4'])
  })
})
