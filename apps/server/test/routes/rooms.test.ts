import t from 'tap'
import { eachDatabase, startServer } from '../helpers.ts'

const ROOM_ID = /^[a-z0-9._-]{1,64}$/

eachDatabase(t, async (t, kind) => {
  const server = await startServer(t, kind)
  const { http } = server

  await t.test('create: 201 with the room, generated ids, conflicts', async (t) => {
    const created = await http('POST', '/v1/rooms', { body: { id: 'lobby', name: 'Lobby', visibility: 'public', config: { maxMessageBytes: 1000 }, metadata: { topic: 'x' }, extra: 'ignored' } })
    t.equal(created.status, 201)
    t.strictSame(created.body, {
      id: 'lobby',
      name: 'Lobby',
      visibility: 'public',
      config: { maxMessageBytes: 1000 },
      metadata: { topic: 'x' },
      createdBy: 'admin',
      createdAt: created.body.createdAt,
      closedAt: null,
      lastSeq: 0,
      onlineCount: 0
    })
    t.ok(!Number.isNaN(Date.parse(created.body.createdAt)), 'createdAt is ISO 8601')

    const again = await http('POST', '/v1/rooms', { body: { id: 'lobby', name: 'Other', visibility: 'private' } })
    t.equal(again.status, 409)
    t.equal(again.body.code, 'conflict')

    const generated = await http('POST', '/v1/rooms', { body: { name: 'Ops Room! Été', visibility: 'private' } })
    t.equal(generated.status, 201)
    t.match(generated.body.id, ROOM_ID)
    t.match(generated.body.id, /^ops-room-ete-[a-z0-9]{1,8}$/)
    t.equal(generated.body.visibility, 'private')
    t.strictSame(generated.body.config, {})
    t.strictSame(generated.body.metadata, {})
    const odd = await http('POST', '/v1/rooms', { body: { name: '!!!', visibility: 'public' } })
    t.equal(odd.status, 201)
    t.match(odd.body.id, ROOM_ID)
    const long = await http('POST', '/v1/rooms', { body: { name: 'x'.repeat(200), visibility: 'public' } })
    t.equal(long.status, 201)
    t.match(long.body.id, ROOM_ID)
    const twin = await http('POST', '/v1/rooms', { body: { name: 'Ops Room! Été', visibility: 'private' } })
    t.not(twin.body.id, generated.body.id, 'the same name makes another id')
  })

  await t.test('create: auth and validation', async (t) => {
    const body = { id: 'nope', name: 'Nope', visibility: 'public' }
    const anonymous = await http('POST', '/v1/rooms', { as: null, body })
    t.equal(anonymous.status, 401)
    t.equal(anonymous.body.code, 'unauthorized')
    for (const role of ['agent', 'viewer'] as const) {
      const res = await http('POST', '/v1/rooms', { as: `a-${role}`, role, body })
      t.equal(res.status, 403, role)
      t.equal(res.body.code, 'forbidden', role)
    }
    const bad: unknown[] = [
      { name: 7, visibility: 'public' },
      { name: 'N', visibility: 'secret' },
      { name: 'N' },
      { id: 'Upper', name: 'N', visibility: 'public' },
      { id: 'x'.repeat(65), name: 'N', visibility: 'public' },
      { id: 7, name: 'N', visibility: 'public' },
      { name: '', visibility: 'public' },
      { name: 'N', visibility: 'public', config: { sendPerSec: '5' } },
      { name: 'N', visibility: 'public', config: { historyForNewMembers: 'false' } },
      { name: 'N', visibility: 'public', metadata: [] },
      { name: 'nul \u0000 inside', visibility: 'public' },
      { name: 'N', visibility: 'public', metadata: { deep: ['\u0000'] } },
      { name: 'N', visibility: 'public', metadata: { 'key\u0000': 1 } }
    ]
    for (const b of bad) {
      const res = await http('POST', '/v1/rooms', { body: b })
      t.equal(res.status, 400, JSON.stringify(b))
      t.equal(res.body.code, 'bad_request', JSON.stringify(b))
    }
    t.equal((await http('GET', '/v1/rooms/nope')).status, 404, 'nothing was created')
  })

  await t.test('read one: viewers, agents who may join, not_found', async (t) => {
    await http('POST', '/v1/rooms', { body: { id: 'secret', name: 'Secret', visibility: 'private' } })
    t.equal((await http('GET', '/v1/rooms/lobby', { as: 'v1', role: 'viewer' })).status, 200)
    t.equal((await http('GET', '/v1/rooms/lobby', { as: 'agent1' })).status, 200)
    t.equal((await http('GET', '/v1/rooms/secret', { as: 'v1', role: 'viewer' })).status, 200)
    const denied = await http('GET', '/v1/rooms/secret', { as: 'agent1' })
    t.equal(denied.status, 403)
    t.equal(denied.body.code, 'forbidden')
    t.equal((await http('PUT', '/v1/rooms/secret/members/agent1')).status, 204)
    const allowed = await http('GET', '/v1/rooms/secret', { as: 'agent1' })
    t.equal(allowed.status, 200)
    t.equal(allowed.body.id, 'secret')
    const missing = await http('GET', '/v1/rooms/no-such-room')
    t.equal(missing.status, 404)
    t.equal(missing.body.code, 'not_found')
    t.equal((await http('GET', '/v1/rooms/lobby', { as: null })).status, 401)
  })

  await t.test('list: onlineCount, lastSeq, visibility, paging', async (t) => {
    const alice = await server.connect('alice')
    await alice.request({ type: 'join', room: 'lobby' })
    const watcher = await server.connect('watcher', 'viewer')
    await watcher.request({ type: 'join', room: 'lobby' })
    const ack = await alice.request({ type: 'send', room: 'lobby', id: 'm1', text: 'hi' })
    t.equal(ack.seq, 1)

    const all = await http('GET', '/v1/rooms?limit=500', { as: 'v1', role: 'viewer' })
    t.equal(all.status, 200)
    t.equal(all.body.nextCursor, null)
    const lobby = all.body.items.find((r: any) => r.id === 'lobby')
    t.match(lobby, { id: 'lobby', lastSeq: 1, onlineCount: 1 }, 'viewers do not count as online')
    t.ok(all.body.items.some((r: any) => r.id === 'secret'), 'viewers see private rooms')
    const ids = all.body.items.map((r: any) => r.id)
    t.strictSame(ids, [...ids].sort(), 'in id order')

    const agentList = await http('GET', '/v1/rooms?limit=500', { as: 'agent2' })
    t.equal(agentList.status, 200)
    t.ok(agentList.body.items.every((r: any) => r.visibility === 'public'), 'a non-member agent sees public rooms only')
    const memberList = await http('GET', '/v1/rooms?limit=500', { as: 'agent1' })
    t.ok(memberList.body.items.some((r: any) => r.id === 'secret'), 'a member agent sees its private room')

    // Paging one by one gives the same list.
    const seen: string[] = []
    let page = await http('GET', '/v1/rooms?limit=1')
    for (;;) {
      t.equal(page.status, 200)
      t.ok(page.body.items.length <= 1)
      seen.push(...page.body.items.map((r: any) => r.id))
      if (page.body.nextCursor === null) break
      page = await http('GET', `/v1/rooms?cursor=${encodeURIComponent(page.body.nextCursor)}`)
    }
    t.strictSame(seen, ids)

    for (const q of ['limit=0', 'limit=501', 'limit=abc', 'cursor=garbage', 'cursor=' + Buffer.from('{"k":"bans","s":{}}').toString('base64url')]) {
      const res = await http('GET', `/v1/rooms?${q}`)
      t.equal(res.status, 400, q)
      t.equal(res.body.code, 'bad_request', q)
    }
    alice.close()
    watcher.close()
  })

  await t.test('patch: admin only, config merged, members see the change', async (t) => {
    const patched = await http('PATCH', '/v1/rooms/lobby', { body: { name: 'The Lobby', config: { sendPerSec: 5 }, metadata: { topic: 'y' } } })
    t.equal(patched.status, 200)
    t.match(patched.body, { id: 'lobby', name: 'The Lobby', visibility: 'public', config: { maxMessageBytes: 1000, sendPerSec: 5 }, metadata: { topic: 'y' }, lastSeq: 1 })
    const read = await http('GET', '/v1/rooms/lobby')
    t.strictSame(read.body.config, { maxMessageBytes: 1000, sendPerSec: 5 })
    t.equal(read.body.name, 'The Lobby')
    const unchanged = await http('PATCH', '/v1/rooms/lobby', { body: {} })
    t.equal(unchanged.status, 200)
    t.equal(unchanged.body.name, 'The Lobby')

    // The access cache is invalidated: the new maxMessageBytes applies at once.
    await http('PATCH', '/v1/rooms/lobby', { body: { config: { maxMessageBytes: 5 } } })
    const big = await http('POST', '/v1/rooms/lobby/messages', { body: { id: 'big', text: 'too long' } })
    t.equal(big.status, 413)
    t.equal(big.body.code, 'too_large')

    const byAgent = await http('PATCH', '/v1/rooms/lobby', { as: 'agent1', body: { name: 'x' } })
    t.equal(byAgent.status, 403)
    t.equal(byAgent.body.code, 'forbidden')
    const byViewer = await http('PATCH', '/v1/rooms/lobby', { as: 'v1', role: 'viewer', body: { name: 'x' } })
    t.equal(byViewer.status, 403)
    const missing = await http('PATCH', '/v1/rooms/no-such-room', { body: { name: 'x' } })
    t.equal(missing.status, 404)
    t.equal(missing.body.code, 'not_found')
    const invalid = await http('PATCH', '/v1/rooms/lobby', { body: { visibility: 'hidden' } })
    t.equal(invalid.status, 400)
    t.equal(invalid.body.code, 'bad_request')
  })

  await t.test('patch: a room made private kicks live non-member agents', async (t) => {
    await http('POST', '/v1/rooms', { body: { id: 'turning', name: 'Turning', visibility: 'public' } })
    await http('PUT', '/v1/rooms/turning/members/insider')
    const insider = await server.connect('insider')
    const outsider = await server.connect('outsider')
    await insider.request({ type: 'join', room: 'turning' })
    await outsider.request({ type: 'join', room: 'turning' })
    const patched = await http('PATCH', '/v1/rooms/turning', { body: { visibility: 'private' } })
    t.equal(patched.status, 200)
    t.equal(patched.body.visibility, 'private')
    t.match(await outsider.next((f) => f.type === 'kicked', 1000), { room: 'turning' })
    t.ok(await insider.nothing((f) => f.type === 'kicked', 100), 'members stay')
    t.equal((await http('GET', '/v1/rooms/turning', { as: 'outsider' })).status, 403)
    insider.close()
    outsider.close()
  })

  await t.test('close: members kicked, history readable, id never reused', async (t) => {
    await http('POST', '/v1/rooms', { body: { id: 'doomed', name: 'Doomed', visibility: 'public' } })
    t.equal((await http('POST', '/v1/rooms/doomed/messages', { body: { id: 'a', text: 'last words' } })).status, 201)
    const bob = await server.connect('bob')
    await bob.request({ type: 'join', room: 'doomed' })

    t.equal((await http('DELETE', '/v1/rooms/doomed', { as: 'agent1' })).status, 403)
    const closed = await http('DELETE', '/v1/rooms/doomed')
    t.equal(closed.status, 204)
    t.equal(closed.body, undefined)
    const kicked = await bob.next((f) => f.type === 'kicked', 1000)
    t.match(kicked, { type: 'kicked', room: 'doomed' })

    const read = await http('GET', '/v1/rooms/doomed')
    t.equal(read.status, 200)
    t.ok(!Number.isNaN(Date.parse(read.body.closedAt)), 'closedAt set')
    t.equal((await http('DELETE', '/v1/rooms/doomed')).status, 204, 'closing twice is fine')
    t.equal((await http('GET', '/v1/rooms/doomed')).body.closedAt, read.body.closedAt, 'keeps the first closedAt')

    const open = await http('GET', '/v1/rooms?limit=500')
    t.notOk(open.body.items.some((r: any) => r.id === 'doomed'), 'left the list')
    const withClosed = await http('GET', '/v1/rooms?limit=500&includeClosed=true')
    t.ok(withClosed.body.items.some((r: any) => r.id === 'doomed'), 'listed with includeClosed')

    const history = await http('GET', '/v1/rooms/doomed/messages')
    t.equal(history.status, 200)
    t.equal(history.body.items.length, 1)
    const join = await bob.request({ type: 'join', room: 'doomed' })
    t.match(join, { type: 'error', code: 'not_found' })
    const send = await http('POST', '/v1/rooms/doomed/messages', { body: { id: 'b', text: 'again' } })
    t.equal(send.status, 404)
    t.equal(send.body.code, 'not_found')
    const reuse = await http('POST', '/v1/rooms', { body: { id: 'doomed', name: 'Again', visibility: 'public' } })
    t.equal(reuse.status, 409)
    t.equal(reuse.body.code, 'conflict')
    t.equal((await http('DELETE', '/v1/rooms/no-such-room')).status, 404)
    bob.close()
  })

  await t.test('openapi documents the routes', async (t) => {
    const doc = await http('GET', '/openapi.json', { as: null })
    t.equal(doc.status, 200)
    for (const path of ['/v1/rooms', '/v1/rooms/{room}', '/v1/rooms/{room}/messages', '/v1/rooms/{room}/members', '/v1/rooms/{room}/members/{user}', '/v1/rooms/{room}/presence', '/v1/bans', '/v1/bans/{id}', '/v1/users/{user}', '/v1/stats']) {
      t.ok(doc.body.paths[path], path)
    }
    t.ok(doc.body.paths['/v1/rooms'].post.responses['201'], 'POST /v1/rooms documents 201')
  })
})
