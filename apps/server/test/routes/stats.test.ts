import t from 'tap'
import { eachDatabase, startServer } from '../helpers.ts'

const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/

eachDatabase(t, async (t, kind) => {
  const server = await startServer(t, kind)
  const { http } = server

  await t.test('shape, counts and roles', async (t) => {
    const empty = await http('GET', '/v1/stats', { as: 'dash', role: 'viewer' })
    t.equal(empty.status, 200)
    t.strictSame(Object.keys(empty.body).sort(), ['connections', 'messagesPerSec', 'replicas', 'rooms'])
    t.match(empty.body, { connections: 0, rooms: 0, messagesPerSec: 0 })
    t.equal(empty.body.replicas.length, 1, 'this replica is listed from the start')
    t.match(empty.body.replicas[0], { id: 'test', connections: 0, messagesPerSec: 0, startedAt: ISO })

    for (const id of ['one', 'two', 'three']) await http('POST', '/v1/rooms', { body: { id, name: id, visibility: 'public' } })
    await http('DELETE', '/v1/rooms/three')
    const a = await server.connect('a')
    const b = await server.connect('b')
    const stats = await http('GET', '/v1/stats')
    t.match(stats.body, { connections: 2, rooms: 2 }, 'open rooms only')
    t.equal(stats.body.replicas[0].connections, 2)

    for (let i = 0; i < 10; i++) await http('POST', '/v1/rooms/one/messages', { as: 'a', body: { id: `m${i}`, text: 'x' } })
    let rate = await http('GET', '/v1/stats')
    for (let i = 0; i < 60 && rate.body.messagesPerSec === 0; i++) {
      await new Promise((resolve) => setTimeout(resolve, 50))
      rate = await http('GET', '/v1/stats')
    }
    t.ok(rate.body.messagesPerSec > 0, 'messages per second rise')
    t.equal(rate.body.messagesPerSec, rate.body.replicas[0].messagesPerSec, 'the total sums the replicas')

    const agent = await http('GET', '/v1/stats', { as: 'a' })
    t.equal(agent.status, 403)
    t.equal(agent.body.code, 'forbidden')
    t.equal((await http('GET', '/v1/stats', { as: null })).status, 401)
    a.close()
    b.close()
  })
})
