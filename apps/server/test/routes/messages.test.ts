import t from 'tap'
import { eachDatabase, startServer, type TestServer } from '../helpers.ts'

const seqs = (res: { body: any }): number[] => res.body.items.map((m: any) => m.seq)

/** Follows `nextCursor` to the end; returns each page's seqs. */
async function pages (server: TestServer, first: string, as?: string): Promise<number[][]> {
  const out: number[][] = []
  const opts = as === undefined ? {} : { as }
  let res = await server.http('GET', first, opts)
  for (let i = 0; i < 100; i++) {
    if (res.status !== 200) throw new Error(`${res.status} ${JSON.stringify(res.body)}`)
    out.push(seqs(res))
    if (res.body.nextCursor === null) return out
    const path = first.split('?')[0] ?? first
    res = await server.http('GET', `${path}?cursor=${encodeURIComponent(res.body.nextCursor)}`, opts)
  }
  throw new Error('cursor never ended')
}

eachDatabase(t, async (t, kind) => {
  const server = await startServer(t, kind)
  const { http } = server
  await http('POST', '/v1/rooms', { body: { id: 'hall', name: 'Hall', visibility: 'public' } })
  await http('POST', '/v1/rooms', { body: { id: 'den', name: 'Den', visibility: 'private' } })

  await t.test('post: 201, then 200 with the same seq and ts for a known id', async (t) => {
    const first = await http('POST', '/v1/rooms/hall/messages', { as: 'alice', body: { id: 'p1', text: 'hello', data: { n: 1 }, junk: true } })
    t.equal(first.status, 201)
    t.strictSame(Object.keys(first.body).sort(), ['id', 'room', 'seq', 'ts'])
    t.match(first.body, { room: 'hall', id: 'p1', seq: 1 })
    t.ok(Number.isInteger(first.body.ts) && Math.abs(first.body.ts - Date.now()) < 60_000, 'ts is epoch ms')
    const again = await http('POST', '/v1/rooms/hall/messages', { as: 'alice', body: { id: 'p1', text: 'different content' } })
    t.equal(again.status, 200)
    t.strictSame(again.body, first.body)
    const other = await http('POST', '/v1/rooms/hall/messages', { as: 'bob', body: { id: 'p1', text: 'same id, other sender' } })
    t.equal(other.status, 201)
    t.equal(other.body.seq, 2)
    const history = await http('GET', '/v1/rooms/hall/messages')
    t.equal(history.body.items.length, 2, 'nothing stored by the re-send')
    t.match(history.body.items[0], { room: 'hall', seq: 1, id: 'p1', from: { id: 'alice' }, text: 'hello', data: { n: 1 }, ts: first.body.ts })
    const admin = await http('POST', '/v1/rooms/hall/messages', { body: { id: 'a1', data: { k: 'v' } } })
    t.equal(admin.status, 201, 'admins post too')
  })

  await t.test('post: roles and validation', async (t) => {
    const viewer = await http('POST', '/v1/rooms/hall/messages', { as: 'dash', role: 'viewer', body: { id: 'v', text: 'x' } })
    t.equal(viewer.status, 403)
    t.equal(viewer.body.code, 'forbidden')
    t.equal((await http('POST', '/v1/rooms/hall/messages', { as: null, body: { id: 'n', text: 'x' } })).status, 401)
    const privateRoom = await http('POST', '/v1/rooms/den/messages', { as: 'alice', body: { id: 'd', text: 'x' } })
    t.equal(privateRoom.status, 403)
    t.equal(privateRoom.body.code, 'forbidden')
    const missing = await http('POST', '/v1/rooms/nowhere/messages', { as: 'alice', body: { id: 'd', text: 'x' } })
    t.equal(missing.status, 404)
    t.equal(missing.body.code, 'not_found')
    for (const body of [{ id: 7, text: 'x' }, { text: 'x' }, { id: 'e1' }, { id: 'e2', text: 5 }, { id: 'e3', data: [1] }, { id: 'e4', data: 'x' }, { id: '', text: 'x' }, { id: 'x'.repeat(65), text: 'x' }, { id: 'nul1', text: 'a\u0000b' }, { id: 'nul2', data: { k: '\u0000' } }, { id: 'nul\u0000', text: 'x' }]) {
      const res = await http('POST', '/v1/rooms/hall/messages', { as: 'alice', body })
      t.equal(res.status, 400, JSON.stringify(body))
      t.equal(res.body.code, 'bad_request', JSON.stringify(body))
    }
  })

  await t.test('post: budgets and size limits', async (t) => {
    await http('POST', '/v1/rooms', { body: { id: 'slow', name: 'Slow', visibility: 'public', config: { sendPerSec: 1, maxMessageBytes: 10 } } })
    t.equal((await http('POST', '/v1/rooms/slow/messages', { as: 'alice', body: { id: 's1', text: 'ok' } })).status, 201)
    const limited = await http('POST', '/v1/rooms/slow/messages', { as: 'alice', body: { id: 's2', text: 'ok' } })
    t.equal(limited.status, 429)
    t.equal(limited.body.code, 'rate_limited')
    t.ok(Number(limited.headers.get('retry-after')) >= 1, 'retry-after set')
    t.equal((await http('POST', '/v1/rooms/slow/messages', { as: 'alice', body: { id: 's1', text: 'ok' } })).status, 200, 'a re-send is answered, not limited')
    const big = await http('POST', '/v1/rooms/slow/messages', { as: 'bob', body: { id: 'b1', text: 'ééééééé' } })
    t.equal(big.status, 413, 'UTF-8 bytes count')
    t.equal(big.body.code, 'too_large')
  })

  await t.test('a message posted over HTTP reaches WebSocket members', async (t) => {
    const carol = await server.connect('carol')
    const joined = await carol.request({ type: 'join', room: 'hall' })
    const posted = await http('POST', '/v1/rooms/hall/messages', { as: 'dave', body: { id: 'live', text: 'over http' } })
    t.equal(posted.status, 201)
    t.equal(posted.body.seq, joined.seq + 1)
    const frame = await carol.next((f) => f.type === 'message' && f.id === 'live', 2000)
    t.match(frame, { room: 'hall', seq: posted.body.seq, id: 'live', text: 'over http', ts: posted.body.ts, from: { id: 'dave', name: 'dave' } })
    carol.close()
  })

  await t.test('history: both directions, ranges, from filter, cursors', async (t) => {
    await http('POST', '/v1/rooms', { body: { id: 'log', name: 'Log', visibility: 'public' } })
    for (let i = 1; i <= 10; i++) {
      const res = await http('POST', '/v1/rooms/log/messages', { as: i % 2 === 1 ? 'odd' : 'even', body: { id: `m${i}`, text: `message ${i}` } })
      t.equal(res.body.seq, i)
    }
    const latest = await http('GET', '/v1/rooms/log/messages', { as: 'reader' })
    t.equal(latest.status, 200)
    t.strictSame(seqs(latest), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10])
    t.equal(latest.body.nextCursor, null)
    t.match(latest.body.items[0], { room: 'log', seq: 1, id: 'm1', text: 'message 1', from: { id: 'odd', name: 'odd' } })

    t.strictSame(await pages(server, '/v1/rooms/log/messages?limit=3'), [[8, 9, 10], [5, 6, 7], [2, 3, 4], [1]], 'neither: latest, then backwards')
    t.strictSame(await pages(server, '/v1/rooms/log/messages?after=0&limit=4'), [[1, 2, 3, 4], [5, 6, 7, 8], [9, 10]], 'after: forwards')
    t.strictSame(await pages(server, '/v1/rooms/log/messages?after=7&limit=3'), [[8, 9, 10]], 'a full last page ends with null')
    t.strictSame(await pages(server, '/v1/rooms/log/messages?before=6&limit=2'), [[4, 5], [2, 3], [1]], 'before: backwards')
    t.strictSame(await pages(server, '/v1/rooms/log/messages?before=3&limit=2'), [[1, 2]], 'nothing left before 1')
    t.strictSame(await pages(server, '/v1/rooms/log/messages?after=2&before=8&limit=2'), [[3, 4], [5, 6], [7]], 'both: the range, forwards')
    t.strictSame(await pages(server, '/v1/rooms/log/messages?after=5&before=3'), [[]], 'an empty range')
    t.strictSame(await pages(server, '/v1/rooms/log/messages?after=10'), [[]])
    t.strictSame(await pages(server, '/v1/rooms/log/messages?after=99'), [[]])
    t.strictSame(await pages(server, '/v1/rooms/log/messages?before=1'), [[]])
    t.strictSame(await pages(server, '/v1/rooms/log/messages?from=odd&limit=2'), [[7, 9], [3, 5], [1]], 'from, backwards')
    t.strictSame(await pages(server, '/v1/rooms/log/messages?from=even&after=3&limit=2'), [[4, 6], [8, 10]], 'from, forwards')
    t.strictSame(await pages(server, '/v1/rooms/log/messages?from=nobody'), [[]])
    t.strictSame(await pages(server, '/v1/rooms/log/messages?limit=4', 'agent-reader'), [[7, 8, 9, 10], [3, 4, 5, 6], [1, 2]], 'agents read public history')

    const first = await http('GET', '/v1/rooms/log/messages?limit=2')
    const foreign = await http('GET', `/v1/rooms/hall/messages?cursor=${first.body.nextCursor}`)
    t.equal(foreign.status, 400, "a cursor of another room's history is refused")
    t.equal(foreign.body.code, 'bad_request')
    for (const q of ['limit=0', 'limit=501', 'after=-1', 'before=x', 'from=bad%20id', 'cursor=bm9wZQ', 'cursor=' + 'x'.repeat(3000)]) {
      const res = await http('GET', `/v1/rooms/log/messages?${q}`)
      t.equal(res.status, 400, q)
      t.equal(res.body.code, 'bad_request', q)
    }
  })

  await t.test('history: who may read', async (t) => {
    await http('POST', '/v1/rooms/den/messages', { body: { id: 'd1', text: 'private' } })
    const outsider = await http('GET', '/v1/rooms/den/messages', { as: 'alice' })
    t.equal(outsider.status, 403)
    t.equal(outsider.body.code, 'forbidden')
    t.equal((await http('GET', '/v1/rooms/den/messages', { as: 'dash', role: 'viewer' })).body.items.length, 1, 'viewers read private rooms')
    await http('PUT', '/v1/rooms/den/members/alice')
    t.equal((await http('GET', '/v1/rooms/den/messages', { as: 'alice' })).body.items.length, 1, 'members read')
    t.equal((await http('POST', '/v1/rooms/den/messages', { as: 'alice', body: { id: 'd2', text: 'member' } })).status, 201, 'members post')
    t.equal((await http('GET', '/v1/rooms/nowhere/messages')).status, 404)
    t.equal((await http('GET', '/v1/rooms/den/messages', { as: null })).status, 401)
  })

  await t.test('history: historyForNewMembers false starts at the first join', async (t) => {
    await http('POST', '/v1/rooms', { body: { id: 'fresh', name: 'Fresh', visibility: 'public', config: { historyForNewMembers: false } } })
    for (const id of ['o1', 'o2', 'o3']) await http('POST', '/v1/rooms/fresh/messages', { body: { id, text: id } })
    const never = await http('GET', '/v1/rooms/fresh/messages', { as: 'newbie' })
    t.equal(never.status, 200)
    t.strictSame(never.body, { items: [], nextCursor: null }, 'an agent who never joined sees nothing')

    const newbie = await server.connect('newbie')
    t.match(await newbie.request({ type: 'join', room: 'fresh' }), { type: 'joined', seq: 3 })
    for (const id of ['n1', 'n2', 'n3']) await http('POST', '/v1/rooms/fresh/messages', { body: { id, text: id } })
    t.strictSame(await pages(server, '/v1/rooms/fresh/messages', 'newbie'), [[4, 5, 6]])
    t.strictSame(await pages(server, '/v1/rooms/fresh/messages?limit=2', 'newbie'), [[5, 6], [4]], 'backwards paging stops at the first join')
    t.strictSame(await pages(server, '/v1/rooms/fresh/messages?after=0&limit=2', 'newbie'), [[4, 5], [6]])
    t.strictSame(seqs(await http('GET', '/v1/rooms/fresh/messages', { as: 'dash', role: 'viewer' })), [1, 2, 3, 4, 5, 6], 'viewers see everything')
    t.strictSame(seqs(await http('GET', '/v1/rooms/fresh/messages')), [1, 2, 3, 4, 5, 6], 'admins see everything')
    newbie.close()
  })
})
