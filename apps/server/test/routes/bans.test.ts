import t from 'tap'
import { eachDatabase, startServer, TestSocket } from '../helpers.ts'

const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$/

eachDatabase(t, async (t, kind) => {
  const server = await startServer(t, kind)
  const { http } = server
  await http('POST', '/v1/rooms', { body: { id: 'arena', name: 'Arena', visibility: 'public' } })
  await http('POST', '/v1/rooms', { body: { id: 'garden', name: 'Garden', visibility: 'public' } })

  await t.test('create: 201 with the whole ban; auth and validation', async (t) => {
    const expiresAt = new Date(Date.now() + 3600_000).toISOString()
    const res = await http('POST', '/v1/bans', { body: { user: 'ghost', room: 'garden', reason: 'spam', expiresAt, junk: 1 } })
    t.equal(res.status, 201)
    t.strictSame(Object.keys(res.body).sort(), ['createdAt', 'createdBy', 'expiresAt', 'id', 'liftedAt', 'reason', 'room', 'user'])
    t.match(res.body, { user: 'ghost', room: 'garden', reason: 'spam', createdBy: 'admin', liftedAt: null, createdAt: ISO })
    t.equal(Date.parse(res.body.expiresAt), Date.parse(expiresAt))
    t.type(res.body.id, 'string')
    const network = await http('POST', '/v1/bans', { body: { user: 'ghost2' } })
    t.equal(network.status, 201)
    t.match(network.body, { user: 'ghost2', room: null, reason: null, expiresAt: null, liftedAt: null })

    const missing = await http('POST', '/v1/bans', { body: { user: 'ghost', room: 'no-room' } })
    t.equal(missing.status, 404)
    t.equal(missing.body.code, 'not_found')
    for (const role of ['agent', 'viewer'] as const) {
      const denied = await http('POST', '/v1/bans', { as: `x-${role}`, role, body: { user: 'ghost' } })
      t.equal(denied.status, 403, role)
      t.equal(denied.body.code, 'forbidden')
    }
    t.equal((await http('POST', '/v1/bans', { as: null, body: { user: 'ghost' } })).status, 401)
    for (const body of [{ user: 7 }, {}, { user: 'bad user' }, { user: 'u', room: 'Bad Room' }, { user: 'u', expiresAt: 'tomorrow' }, { user: 'u', expiresAt: 1700000000000 }, { user: 'u', reason: 5 }, { user: 'u', reason: 'nul \u0000' }]) {
      const bad = await http('POST', '/v1/bans', { body })
      t.equal(bad.status, 400, JSON.stringify(body))
      t.equal(bad.body.code, 'bad_request')
    }
  })

  await t.test('a room ban kicks at once and bars join, send and history of that room', async (t) => {
    const bob = await server.connect('bob')
    await bob.request({ type: 'join', room: 'arena' })
    await bob.request({ type: 'join', room: 'garden' })
    const ban = await http('POST', '/v1/bans', { body: { user: 'bob', room: 'arena', reason: 'rude' } })
    t.equal(ban.status, 201)
    // Awaited before the reply: the kick is already on its way when POST returns.
    const kicked = await bob.next((f) => f.type === 'kicked', 1000)
    t.match(kicked, { type: 'kicked', room: 'arena' })
    t.match(await bob.request({ type: 'join', room: 'arena' }), { type: 'error', code: 'banned' })
    const history = await http('GET', '/v1/rooms/arena/messages', { as: 'bob' })
    t.equal(history.status, 403)
    t.equal(history.body.code, 'banned')
    const post = await http('POST', '/v1/rooms/arena/messages', { as: 'bob', body: { id: 'x', text: 'x' } })
    t.equal(post.status, 403)
    t.equal(post.body.code, 'banned')
    t.equal((await http('GET', '/v1/rooms/arena', { as: 'bob' })).body.code, 'banned')
    t.equal((await http('GET', '/v1/rooms/garden/messages', { as: 'bob' })).status, 200, 'other rooms unaffected')
    t.match(await bob.request({ type: 'send', room: 'garden', id: 'g1', text: 'still here' }), { type: 'ack', seq: 1 })

    t.equal((await http('DELETE', `/v1/bans/${ban.body.id}`)).status, 204)
    t.match(await bob.request({ type: 'join', room: 'arena' }), { type: 'joined', room: 'arena' }, 'lifted: back in')
    t.equal((await http('GET', '/v1/rooms/arena/messages', { as: 'bob' })).status, 200)
    bob.close()
  })

  await t.test('a network ban closes sockets with 4003 and answers 403 banned everywhere', async (t) => {
    const eve = await server.connect('eve')
    await eve.request({ type: 'join', room: 'garden' })
    const ban = await http('POST', '/v1/bans', { body: { user: 'eve', reason: 'abuse' } })
    t.equal(ban.status, 201)
    const code = await Promise.race([eve.closed, new Promise((resolve) => setTimeout(() => { resolve('timeout') }, 1000))])
    t.equal(code, 4003)
    for (const [method, path] of [['GET', '/v1/rooms'], ['GET', '/v1/users/eve'], ['GET', '/v1/rooms/garden/messages']] as const) {
      const res = await http(method, path, { as: 'eve' })
      t.equal(res.status, 403, path)
      t.equal(res.body.code, 'banned', path)
    }
    const retry = await TestSocket.open(`${server.wsUrl}?token=${server.token('eve')}`)
    t.equal(await retry.closed, 4003, 'a new connection is refused with 4003')

    const lifted = await http('DELETE', `/v1/bans/${ban.body.id}`)
    t.equal(lifted.status, 204)
    t.equal((await http('GET', '/v1/rooms', { as: 'eve' })).status, 200, 'lifted: REST works again')
    const back = await server.connect('eve')
    t.match(await back.request({ type: 'join', room: 'garden' }), { type: 'joined' })
    back.close()
  })

  await t.test('an expired ban does not bite', async (t) => {
    const past = await http('POST', '/v1/bans', { body: { user: 'tom', room: 'garden', expiresAt: new Date(Date.now() - 1000).toISOString() } })
    t.equal(past.status, 201)
    t.equal((await http('GET', '/v1/rooms/garden/messages', { as: 'tom' })).status, 200)
  })

  await t.test('lift: 204, keeps the row, 404 for unknown ids', async (t) => {
    const ban = await http('POST', '/v1/bans', { body: { user: 'sam', room: 'arena' } })
    t.equal((await http('DELETE', `/v1/bans/${ban.body.id}`, { as: 'sam' })).status, 403)
    t.equal((await http('DELETE', `/v1/bans/${ban.body.id}`, { as: 'dash', role: 'viewer' })).status, 403)
    t.equal((await http('DELETE', `/v1/bans/${ban.body.id}`)).status, 204)
    const rows = await http('GET', '/v1/bans?user=sam')
    t.equal(rows.body.items.length, 1, 'the row stays')
    t.match(rows.body.items[0], { id: ban.body.id, liftedAt: ISO })
    t.equal((await http('DELETE', `/v1/bans/${ban.body.id}`)).status, 204, 'lifting twice is fine')
    t.equal((await http('GET', '/v1/bans?user=sam')).body.items[0].liftedAt, rows.body.items[0].liftedAt, 'keeps the first liftedAt')
    const unknown = await http('DELETE', '/v1/bans/00000000-0000-0000-0000-000000000000')
    t.equal(unknown.status, 404)
    t.equal(unknown.body.code, 'not_found')
    const malformed = await http('DELETE', '/v1/bans/%00')
    t.equal(malformed.status, 400)
    t.equal(malformed.body.code, 'bad_request')
  })

  await t.test('list: filters, order, keyset paging', async (t) => {
    const made: string[] = []
    for (let i = 0; i < 7; i++) {
      const res = await http('POST', '/v1/bans', { body: { user: `pager${i % 2}`, room: i % 3 === 0 ? 'arena' : 'garden', reason: `r${i}` } })
      made.push(res.body.id)
    }
    await http('DELETE', `/v1/bans/${made[1] ?? ''}`)

    const all = await http('GET', '/v1/bans?limit=500', { as: 'dash', role: 'viewer' })
    t.equal(all.status, 200)
    t.equal(all.body.nextCursor, null)
    const ids = all.body.items.map((b: any) => b.id)
    t.strictSame(ids.slice(-7), made, 'creation order')
    const created = all.body.items.map((b: any) => Date.parse(b.createdAt))
    t.strictSame(created, [...created].sort((a, b) => a - b))

    const paged: string[] = []
    let page = await http('GET', '/v1/bans?limit=2')
    for (let i = 0; i < 100; i++) {
      t.ok(page.body.items.length <= 2)
      paged.push(...page.body.items.map((b: any) => b.id))
      if (page.body.nextCursor === null) break
      page = await http('GET', `/v1/bans?cursor=${page.body.nextCursor}`)
    }
    t.strictSame(paged, ids, 'pages of 2 give the whole list, no repeats, no gaps')

    const pager0 = await http('GET', '/v1/bans?user=pager0')
    t.strictSame(pager0.body.items.map((b: any) => b.reason), ['r0', 'r2', 'r4', 'r6'])
    const arena0 = await http('GET', '/v1/bans?user=pager0&room=arena')
    t.strictSame(arena0.body.items.map((b: any) => b.reason), ['r0', 'r6'])
    const activePager1 = await http('GET', '/v1/bans?user=pager1&active=true')
    t.strictSame(activePager1.body.items.map((b: any) => b.reason), ['r3', 'r5'])
    const inactivePager1 = await http('GET', '/v1/bans?user=pager1&active=false')
    t.strictSame(inactivePager1.body.items.map((b: any) => b.reason), ['r1'])
    const inactive = await http('GET', '/v1/bans?active=false&limit=500')
    t.ok(inactive.body.items.some((b: any) => b.user === 'tom'), 'expired bans are inactive')
    t.ok(inactive.body.items.every((b: any) => b.liftedAt !== null || Date.parse(b.expiresAt) <= Date.now()))

    const filteredPages: string[] = []
    page = await http('GET', '/v1/bans?user=pager0&limit=1')
    for (let i = 0; i < 10; i++) {
      filteredPages.push(...page.body.items.map((b: any) => b.reason))
      if (page.body.nextCursor === null) break
      page = await http('GET', `/v1/bans?cursor=${page.body.nextCursor}`)
    }
    t.strictSame(filteredPages, ['r0', 'r2', 'r4', 'r6'], 'the cursor carries the filters')

    t.equal((await http('GET', '/v1/bans', { as: 'agent' })).status, 403)
    t.equal((await http('GET', '/v1/bans', { as: null })).status, 401)
    for (const q of ['limit=0', 'limit=501', 'active=maybe', 'cursor=abc', 'room=Bad']) {
      const res = await http('GET', `/v1/bans?${q}`)
      t.equal(res.status, 400, q)
      t.equal(res.body.code, 'bad_request', q)
    }
  })
})
