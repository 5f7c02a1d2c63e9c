import t from 'tap'
import {
  addMember, closeRoom, commitMessages, countOpenRooms, findFirstJoin, findRoom, insertRoom, isMember, listMembers,
  listRooms, recordFirstJoin, recordFirstJoins, findRooms, removeMember, roomHeads, roomsWithRetention, updateRoom, type NewRoom
} from '../src/index.ts'
import { createTestDatabase } from '../src/testing.ts'
import { eachDatabase, openTestDatabase } from './helpers.ts'

const room = (id: string, more: Partial<NewRoom> = {}): NewRoom =>
  ({ id, name: id.toUpperCase(), visibility: 'public', config: {}, metadata: {}, createdBy: null, ...more })

eachDatabase(t, async (t, kind) => {
  const { db } = await openTestDatabase(t, kind)

  t.test('insertRoom stores a room once; findRoom reads it back', async (t) => {
    const created = await insertRoom(db, room('alpha', {
      visibility: 'private',
      config: { maxMessageBytes: 1024, sendPerSec: 0.5, historyForNewMembers: false },
      metadata: { topic: 'x', nested: { n: [1, 2] } },
      createdBy: 'admin'
    }))
    t.ok(created, 'created')
    t.match(created, {
      id: 'alpha',
      name: 'ALPHA',
      visibility: 'private',
      config: { maxMessageBytes: 1024, sendPerSec: 0.5, historyForNewMembers: false },
      metadata: { topic: 'x', nested: { n: [1, 2] } },
      createdBy: 'admin',
      closedAt: null,
      lastSeq: 0
    })
    t.type(created?.createdAt, Date)
    t.strictSame(await findRoom(db, 'alpha'), created)
    t.equal(await insertRoom(db, room('alpha', { name: 'again' })), undefined, 'a taken id is refused')
    t.equal((await findRoom(db, 'alpha'))?.name, 'ALPHA', 'and the first room is untouched')
    t.equal(await findRoom(db, 'nope'), undefined)
  })

  t.test('roomHeads reads the latest seq of each existing room', async (t) => {
    await insertRoom(db, room('head-a'))
    await insertRoom(db, room('head-b'))
    await commitMessages(db, [1, 2, 3].map((n) => ({ roomId: 'head-a', senderId: 'u', senderName: 'U', clientId: `h${n}`, text: 'x' })))
    t.strictSame(await roomHeads(db, ['head-a', 'head-b', 'head-none']), new Map([['head-a', 3], ['head-b', 0]]))
    t.strictSame(await roomHeads(db, []), new Map())
  })

  t.test('a closed room keeps its id forever', async (t) => {
    await insertRoom(db, room('gone'))
    const closed = await closeRoom(db, 'gone')
    t.type(closed?.closedAt, Date)
    const again = await closeRoom(db, 'gone')
    t.equal(again?.closedAt?.getTime(), closed?.closedAt?.getTime(), 'closing twice keeps the first closedAt')
    t.equal(await insertRoom(db, room('gone')), undefined, 'the id is not reused')
    t.equal(await closeRoom(db, 'never'), undefined, 'closing an unknown room')
  })

  t.test('updateRoom changes only what the patch names', async (t) => {
    await insertRoom(db, room('upd', { config: { retentionDays: 3 }, metadata: { a: 1 } }))
    const renamed = await updateRoom(db, 'upd', { name: 'Renamed' })
    t.match(renamed, { name: 'Renamed', visibility: 'public', config: { retentionDays: 3 }, metadata: { a: 1 } })
    const changed = await updateRoom(db, 'upd', { visibility: 'private', config: { sendPerSec: 5 }, metadata: { b: 2 } })
    t.match(changed, { name: 'Renamed', visibility: 'private' })
    t.strictSame(changed?.config, { sendPerSec: 5 }, 'config is replaced whole')
    t.strictSame(changed?.metadata, { b: 2 }, 'metadata is replaced whole')
    t.strictSame(await updateRoom(db, 'upd', {}), await findRoom(db, 'upd'), 'an empty patch answers the room')
    t.strictSame(await updateRoom(db, 'upd', { name: undefined }), await findRoom(db, 'upd'), 'undefined fields are no change')
    t.equal(await updateRoom(db, 'nope', { name: 'x' }), undefined, 'unknown room')
    t.equal(await updateRoom(db, 'nope', {}), undefined, 'unknown room, empty patch')
  })

  t.test('listRooms: id order, closed rooms, visibility, keyset pages', async (t) => {
    const h = await openTestDatabase(t, kind)
    for (const id of ['d', 'b', 'a', 'c', 'e']) await insertRoom(h.db, room(id, { visibility: id === 'b' || id === 'd' ? 'private' : 'public' }))
    await closeRoom(h.db, 'e')
    await addMember(h.db, 'd', 'mia', null)
    const ids = (rows: Array<{ id: string }>): string[] => rows.map((r) => r.id)

    t.strictSame(ids(await listRooms(h.db, { includeClosed: false, limit: 50 })), ['a', 'b', 'c', 'd'])
    t.strictSame(ids(await listRooms(h.db, { includeClosed: true, limit: 50 })), ['a', 'b', 'c', 'd', 'e'])
    t.strictSame(ids(await listRooms(h.db, { includeClosed: false, visibleTo: 'mia', limit: 50 })), ['a', 'c', 'd'], 'public ones and private ones of which the user is a member')
    t.strictSame(ids(await listRooms(h.db, { includeClosed: false, visibleTo: 'zed', limit: 50 })), ['a', 'c'])
    t.strictSame(ids(await listRooms(h.db, { includeClosed: true, limit: 2 })), ['a', 'b'])
    t.strictSame(ids(await listRooms(h.db, { includeClosed: true, afterId: 'b', limit: 2 })), ['c', 'd'])
    t.strictSame(ids(await listRooms(h.db, { includeClosed: true, afterId: 'e', limit: 2 })), [])
    t.equal(await countOpenRooms(h.db), 4)
  })

  t.test('recordFirstJoin keeps the first join', async (t) => {
    await insertRoom(db, room('joins'))
    t.equal(await findFirstJoin(db, 'joins', 'ann'), undefined, 'never joined')
    t.equal(await recordFirstJoin(db, 'joins', 'ann', 5), 5)
    t.equal(await recordFirstJoin(db, 'joins', 'ann', 9), 5, 'a later join keeps the first seq')
    t.equal(await findFirstJoin(db, 'joins', 'ann'), 5)
    t.equal(await recordFirstJoin(db, 'joins', 'bob', 0), 0, 'users apart')
    const together = await Promise.all([recordFirstJoin(db, 'joins', 'cat', 1), recordFirstJoin(db, 'joins', 'cat', 2)])
    t.equal(together[0], together[1], 'concurrent first joins agree')
  })

  t.test('recordFirstJoins: new and known joins in one call', async (t) => {
    await insertRoom(db, room('joins2'))
    t.equal(await recordFirstJoin(db, 'joins2', 'old', 3), 3)
    const out = await recordFirstJoins(db, [
      { roomId: 'joins2', userId: 'old', afterSeq: 10 },
      { roomId: 'joins2', userId: 'new', afterSeq: 10 }
    ])
    t.strictSame(Object.fromEntries(out), { 'joins2\u0000old': 3, 'joins2\u0000new': 10 })
    t.equal(await findFirstJoin(db, 'joins2', 'new'), 10)
    const herd = await Promise.all(Array.from({ length: 30 }, async (_, i) => await recordFirstJoin(db, 'joins2', `u${i % 10}`, i)))
    for (let i = 0; i < 30; i++) t.equal(herd[i], herd[i % 10], `u${i % 10}: concurrent joins agree`)
    for (let i = 0; i < 10; i++) t.equal(await findFirstJoin(db, 'joins2', `u${i}`), herd[i], `u${i} is stored as answered`)
  })

  t.test('recordFirstJoins from two connections at once: both answer the one stored join', { skip: kind === 'pglite' ? 'PGlite has one connection' : false }, async (t) => {
    const testDb = await createTestDatabase('postgres')
    const [a, b] = [await testDb.open(), await testDb.open()]
    t.teardown(async () => { await a.close(); await b.close(); await testDb.destroy() })
    await insertRoom(a.db, room('race'))
    for (let round = 0; round < 20; round++) {
      const users = Array.from({ length: 5 }, (_, i) => `r${round}-u${i}`)
      const [fromA, fromB] = await Promise.all([
        recordFirstJoins(a.db, users.map((userId) => ({ roomId: 'race', userId, afterSeq: 100 + round }))),
        recordFirstJoins(b.db, users.map((userId) => ({ roomId: 'race', userId, afterSeq: 200 + round })))
      ])
      for (const userId of users) {
        const k = `race\u0000${userId}`
        const stored = await findFirstJoin(a.db, 'race', userId)
        t.ok(stored === 100 + round || stored === 200 + round, `${userId} stored once`)
        t.equal(fromA.get(k), stored, `${userId}: the first connection answers what is stored`)
        t.equal(fromB.get(k), stored, `${userId}: the second connection answers what is stored`)
      }
    }
  })

  t.test('findRooms: many rooms in one statement', async (t) => {
    await insertRoom(db, room('many-a'))
    await insertRoom(db, room('many-b'))
    const found = await findRooms(db, ['many-a', 'many-b', 'many-none'])
    t.strictSame([...found.keys()].sort(), ['many-a', 'many-b'])
    t.match(found.get('many-a'), { id: 'many-a', name: 'MANY-A' })
  })

  t.test('roomsWithRetention lists rooms with a numeric retentionDays', async (t) => {
    const h = await openTestDatabase(t, kind)
    await insertRoom(h.db, room('keep', { config: { retentionDays: 7 } }))
    await insertRoom(h.db, room('forever', { config: { sendPerSec: 3 } }))
    await insertRoom(h.db, room('meta', { metadata: { retentionDays: 1 } }))
    t.strictSame(await roomsWithRetention(h.db), [{ id: 'keep', retentionDays: 7 }])
  })

  t.test('lastSeq follows committed messages', async (t) => {
    await insertRoom(db, room('seq'))
    await commitMessages(db, [1, 2, 3].map((i) => ({ roomId: 'seq', clientId: `m${i}`, senderId: 'ann', senderName: 'Ann', text: 'x' })))
    t.equal((await findRoom(db, 'seq'))?.lastSeq, 3)
  })

  t.test('members: grant once, revoke, list in user id order', async (t) => {
    await insertRoom(db, room('club', { visibility: 'private' }))
    t.equal(await isMember(db, 'club', 'zoe'), false)
    await addMember(db, 'club', 'zoe', 'admin1')
    await addMember(db, 'club', 'zoe', 'admin2')
    t.equal(await isMember(db, 'club', 'zoe'), true)
    const [zoe] = await listMembers(db, 'club', undefined, 10)
    t.match(zoe, { roomId: 'club', userId: 'zoe', addedBy: 'admin1' }, 'granting twice keeps the first grant')
    t.type(zoe?.addedAt, Date)

    for (const u of ['bea', 'abe', 'cy']) await addMember(db, 'club', u, null)
    const users = async (after: string | undefined, limit: number): Promise<string[]> =>
      (await listMembers(db, 'club', after, limit)).map((m) => m.userId)
    t.strictSame(await users(undefined, 10), ['abe', 'bea', 'cy', 'zoe'])
    t.strictSame(await users(undefined, 2), ['abe', 'bea'])
    t.strictSame(await users('bea', 2), ['cy', 'zoe'])
    t.strictSame(await users('zoe', 2), [])
    t.strictSame(await listMembers(db, 'alpha', undefined, 10), [], 'other rooms are apart')

    t.equal(await removeMember(db, 'club', 'zoe'), true)
    t.equal(await removeMember(db, 'club', 'zoe'), false, 'revoking twice')
    t.equal(await isMember(db, 'club', 'zoe'), false)
    t.equal(await removeMember(db, 'nope', 'zoe'), false, 'unknown room')
    await t.rejects(addMember(db, 'nope', 'zoe', null), 'a grant needs an existing room')
  })
})
