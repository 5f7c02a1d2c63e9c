import t from 'tap'
import { eachDatabase, startServer } from '../helpers.ts'

eachDatabase(t, async (t, kind) => {
  const server = await startServer(t, kind)
  const { http } = server
  t.equal((await http('POST', '/v1/rooms', { body: { id: 'vault', name: 'Vault', visibility: 'private' } })).status, 201)
  t.equal((await http('POST', '/v1/rooms', { body: { id: 'annex', name: 'Annex', visibility: 'private' } })).status, 201)
  t.equal((await http('POST', '/v1/rooms', { body: { id: 'plaza', name: 'Plaza', visibility: 'public' } })).status, 201)

  await t.test('grant, list, page, revoke', async (t) => {
    for (const user of ['carol', 'alice', 'bob']) {
      const res = await http('PUT', `/v1/rooms/vault/members/${user}`)
      t.equal(res.status, 204, user)
      t.equal(res.body, undefined)
    }
    t.equal((await http('PUT', '/v1/rooms/vault/members/alice')).status, 204, 'granting twice is fine')
    await http('PUT', '/v1/rooms/annex/members/zed')

    const list = await http('GET', '/v1/rooms/vault/members', { as: 'dash', role: 'viewer' })
    t.equal(list.status, 200)
    t.strictSame(list.body.items.map((m: any) => m.user), ['alice', 'bob', 'carol'])
    t.match(list.body.items[0], { user: 'alice', addedBy: 'admin' })
    t.ok(!Number.isNaN(Date.parse(list.body.items[0].addedAt)))
    t.equal(list.body.nextCursor, null)

    const first = await http('GET', '/v1/rooms/vault/members?limit=2')
    t.strictSame(first.body.items.map((m: any) => m.user), ['alice', 'bob'])
    t.type(first.body.nextCursor, 'string')
    const second = await http('GET', `/v1/rooms/vault/members?cursor=${first.body.nextCursor}`)
    t.strictSame(second.body.items.map((m: any) => m.user), ['carol'])
    t.equal(second.body.nextCursor, null)
    const foreign = await http('GET', `/v1/rooms/annex/members?cursor=${first.body.nextCursor}`)
    t.equal(foreign.status, 400, 'a cursor of another room is refused')
    t.equal(foreign.body.code, 'bad_request')

    const revoked = await http('DELETE', '/v1/rooms/vault/members/bob')
    t.equal(revoked.status, 204)
    t.equal((await http('DELETE', '/v1/rooms/vault/members/bob')).status, 204, 'revoking twice is fine')
    const after = await http('GET', '/v1/rooms/vault/members')
    t.strictSame(after.body.items.map((m: any) => m.user), ['alice', 'carol'])
  })

  await t.test('roles and errors', async (t) => {
    for (const [method, path] of [['PUT', '/v1/rooms/vault/members/x'], ['DELETE', '/v1/rooms/vault/members/x'], ['GET', '/v1/rooms/vault/members']] as const) {
      const agent = await http(method, path, { as: 'alice' })
      t.equal(agent.status, 403, `${method} ${path} as agent`)
      t.equal(agent.body.code, 'forbidden')
      t.equal((await http(method, path, { as: null })).status, 401, `${method} ${path} without token`)
    }
    for (const role of ['viewer'] as const) {
      t.equal((await http('PUT', '/v1/rooms/vault/members/x', { as: 'dash', role })).status, 403)
      t.equal((await http('DELETE', '/v1/rooms/vault/members/x', { as: 'dash', role })).status, 403)
    }
    const missing = await http('PUT', '/v1/rooms/no-room/members/x')
    t.equal(missing.status, 404)
    t.equal(missing.body.code, 'not_found')
    t.equal((await http('GET', '/v1/rooms/no-room/members')).status, 404)
    t.equal((await http('DELETE', '/v1/rooms/no-room/members/x')).status, 404)
    const badUser = await http('PUT', '/v1/rooms/vault/members/bad%20user')
    t.equal(badUser.status, 400)
    t.equal(badUser.body.code, 'bad_request')
    for (const q of ['limit=0', 'limit=501', 'cursor=%%%']) {
      const res = await http('GET', `/v1/rooms/vault/members?${q}`)
      t.equal(res.status, 400, q)
      t.equal(res.body.code, 'bad_request', q)
    }
  })

  await t.test('membership gates a private room; revoking kicks live', async (t) => {
    const outsider = await server.connect('mallory')
    t.match(await outsider.request({ type: 'join', room: 'vault' }), { type: 'error', code: 'forbidden' })
    const alice = await server.connect('alice')
    t.match(await alice.request({ type: 'join', room: 'vault' }), { type: 'joined', room: 'vault' })
    t.equal((await http('GET', '/v1/rooms/vault', { as: 'alice' })).status, 200)
    t.equal((await http('DELETE', '/v1/rooms/vault/members/alice')).status, 204)
    const kicked = await alice.next((f) => f.type === 'kicked', 1000)
    t.match(kicked, { type: 'kicked', room: 'vault' })
    t.match(await alice.request({ type: 'join', room: 'vault' }), { type: 'error', code: 'forbidden' })
    const read = await http('GET', '/v1/rooms/vault', { as: 'alice' })
    t.equal(read.status, 403)
    t.equal(read.body.code, 'forbidden')
    alice.close()
    outsider.close()
  })

  await t.test('presence: online users, viewers hidden, paging, who may look', async (t) => {
    const empty = await http('GET', '/v1/rooms/plaza/presence')
    t.strictSame(empty.body, { items: [], nextCursor: null })

    const before = Date.now()
    const sockets = await Promise.all(['ann', 'ben', 'cat'].map(async (u) => await server.connect(u, 'agent', u.toUpperCase())))
    for (const s of sockets) await s.request({ type: 'join', room: 'plaza' })
    const second = await server.connect('ann') // a second connection of ann: still one entry
    await second.request({ type: 'join', room: 'plaza' })
    const watcher = await server.connect('dash', 'viewer')
    await watcher.request({ type: 'join', room: 'plaza' })
    sockets[1]?.send({ type: 'state', state: 'thinking' })

    let list = await http('GET', '/v1/rooms/plaza/presence', { as: 'dash', role: 'viewer' })
    for (let i = 0; i < 50 && list.body.items.find((m: any) => m.id === 'ben')?.state !== 'thinking'; i++) {
      await new Promise((resolve) => setTimeout(resolve, 20))
      list = await http('GET', '/v1/rooms/plaza/presence', { as: 'dash', role: 'viewer' })
    }
    t.equal(list.status, 200)
    t.strictSame(list.body.items.map((m: any) => m.id), ['ann', 'ben', 'cat'], 'distinct users, viewers left out')
    t.match(list.body.items[0], { id: 'ann', name: 'ANN', state: 'idle' })
    t.match(list.body.items[1], { id: 'ben', state: 'thinking' })
    t.ok(list.body.items.every((m: any) => Number.isInteger(m.since) && m.since >= before - 1000), 'since is epoch ms')
    t.equal(list.body.nextCursor, null)

    const page1 = await http('GET', '/v1/rooms/plaza/presence?limit=2', { as: 'ann' })
    t.equal(page1.status, 200, 'agents who may join may look')
    t.strictSame(page1.body.items.map((m: any) => m.id), ['ann', 'ben'])
    const page2 = await http('GET', `/v1/rooms/plaza/presence?cursor=${page1.body.nextCursor}`, { as: 'ann' })
    t.strictSame(page2.body.items.map((m: any) => m.id), ['cat'])
    t.equal(page2.body.nextCursor, null)

    const rooms = await http('GET', '/v1/rooms')
    t.equal(rooms.body.items.find((r: any) => r.id === 'plaza').onlineCount, 3)

    const privateLook = await http('GET', '/v1/rooms/annex/presence', { as: 'ann' })
    t.equal(privateLook.status, 403, 'non-member agents may not look into a private room')
    t.equal(privateLook.body.code, 'forbidden')
    t.equal((await http('GET', '/v1/rooms/annex/presence', { as: 'zed' })).status, 200, 'members may')
    t.equal((await http('GET', '/v1/rooms/no-room/presence')).status, 404)
    t.equal((await http('GET', '/v1/rooms/plaza/presence', { as: null })).status, 401)
    for (const s of [...sockets, second, watcher]) s.close()
  })
})
