import t from 'tap'
import { eachDatabase, startServer } from '../helpers.ts'

const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/

eachDatabase(t, async (t, kind) => {
  const server = await startServer(t, kind)
  const { http } = server

  await t.test('read: anyone authenticated, any profile', async (t) => {
    const alice = await server.connect('alice', 'agent', 'Alice')
    const res = await http('GET', '/v1/users/alice', { as: 'dash', role: 'viewer' })
    t.equal(res.status, 200)
    t.strictSame(Object.keys(res.body).sort(), ['createdAt', 'id', 'lastSeenAt', 'metadata', 'name', 'role'])
    t.match(res.body, { id: 'alice', name: 'Alice', role: 'agent', metadata: {}, createdAt: ISO, lastSeenAt: ISO })
    t.equal((await http('GET', '/v1/users/alice', { as: 'bob' })).status, 200, 'agents read any profile')
    t.equal((await http('GET', '/v1/users/alice')).status, 200, 'admins too')
    const self = await http('GET', '/v1/users/rest-only', { as: 'rest-only' })
    t.equal(self.status, 200, 'a user seen over REST only has a row')
    t.match(self.body, { id: 'rest-only', name: 'rest-only', role: 'agent' })
    const missing = await http('GET', '/v1/users/nobody')
    t.equal(missing.status, 404)
    t.equal(missing.body.code, 'not_found')
    t.equal((await http('GET', '/v1/users/alice', { as: null })).status, 401)
    t.equal((await http('GET', '/v1/users/bad%20id')).status, 400)
    alice.close()
  })

  await t.test('patch: self or admin; the stored name wins over the token', async (t) => {
    const own = await http('PATCH', '/v1/users/alice', { as: 'alice', body: { name: 'Alicia', metadata: { model: 'x1', tags: ['a'] }, ignored: true } })
    t.equal(own.status, 200)
    t.match(own.body, { id: 'alice', name: 'Alicia', role: 'agent', metadata: { model: 'x1', tags: ['a'] } })
    const read = await http('GET', '/v1/users/alice')
    t.strictSame(read.body.metadata, { model: 'x1', tags: ['a'] })
    t.equal(read.body.name, 'Alicia')

    const replaced = await http('PATCH', '/v1/users/alice', { as: 'alice', body: { metadata: { model: 'x2' } } })
    t.strictSame(replaced.body.metadata, { model: 'x2' }, 'metadata is replaced')
    t.equal(replaced.body.name, 'Alicia', 'name kept')

    const socket = await server.connect('alice', 'agent', 'Token Name')
    t.equal(socket.hello.user.name, 'Alicia', 'a token name does not override a stored one')
    socket.close()

    await http('POST', '/v1/rooms', { body: { id: 'hall', name: 'Hall', visibility: 'public' } })
    await http('POST', '/v1/rooms/hall/messages', { as: 'alice', body: { id: 'm1', text: 'hi' } })
    const byAdmin = await http('PATCH', '/v1/users/alice', { body: { name: 'Renamed' } })
    t.equal(byAdmin.status, 200)
    t.equal(byAdmin.body.name, 'Renamed')
    await http('POST', '/v1/rooms/hall/messages', { as: 'alice', body: { id: 'm2', text: 'hi again' } })
    const history = await http('GET', '/v1/rooms/hall/messages')
    t.strictSame(history.body.items.map((m: any) => m.from.name), ['Alicia', 'Renamed'], 'the new name is used at once')
  })

  await t.test('patch: roles and validation', async (t) => {
    const other = await http('PATCH', '/v1/users/alice', { as: 'bob', body: { name: 'Hacked' } })
    t.equal(other.status, 403)
    t.equal(other.body.code, 'forbidden')
    const viewer = await http('PATCH', '/v1/users/alice', { as: 'dash', role: 'viewer', body: { name: 'Hacked' } })
    t.equal(viewer.status, 403)
    t.equal(viewer.body.code, 'forbidden')
    t.equal((await http('PATCH', '/v1/users/alice', { as: null, body: { name: 'x' } })).status, 401)
    for (const body of [{ name: 7 }, { name: '' }, { name: 'x'.repeat(201) }, { metadata: [] }, { metadata: 'x' }, { name: 'a\u0000b' }, { metadata: { 'k\u0000': 1 } }]) {
      const res = await http('PATCH', '/v1/users/alice', { as: 'alice', body })
      t.equal(res.status, 400, JSON.stringify(body))
      t.equal(res.body.code, 'bad_request')
    }
    const missing = await http('PATCH', '/v1/users/nobody', { body: { name: 'x' } })
    t.equal(missing.status, 404)
    t.equal(missing.body.code, 'not_found')
    t.equal((await http('GET', '/v1/users/alice')).body.name, 'Renamed', 'nothing changed')
  })
})
