import t from 'tap'
import { findUser, touchUser, touchUsers, updateUser } from '../src/index.ts'
import { eachDatabase, openTestDatabase } from './helpers.ts'

eachDatabase(t, async (t, kind) => {
  const { db } = await openTestDatabase(t, kind)

  t.test('touchUser creates a user on first sight', async (t) => {
    const before = Date.now()
    const row = await touchUser(db, 'ann', 'Ann', 'agent')
    t.match(row, { id: 'ann', name: 'Ann', role: 'agent', metadata: {} })
    t.type(row.createdAt, Date)
    t.ok((row.lastSeenAt?.getTime() ?? 0) >= before - 1000, 'lastSeenAt is now')
    t.strictSame(await findUser(db, 'ann'), row)
    t.equal(await findUser(db, 'nobody'), undefined)
  })

  t.test('touchUser refreshes role and lastSeenAt, and keeps an existing name', async (t) => {
    const first = await touchUser(db, 'bob', 'Bob', 'agent')
    await new Promise((resolve) => setTimeout(resolve, 5))
    const again = await touchUser(db, 'bob', 'Robert', 'admin')
    t.equal(again.name, 'Bob', 'the token\'s name does not overwrite one already set')
    t.equal(again.role, 'admin', 'the latest token\'s role')
    t.equal(again.createdAt.getTime(), first.createdAt.getTime(), 'createdAt stays')
    t.ok((again.lastSeenAt?.getTime() ?? 0) > (first.lastSeenAt?.getTime() ?? 0), 'lastSeenAt moves on')
  })

  t.test('touchUser fills the name only while the user has none', async (t) => {
    t.equal((await touchUser(db, 'cat', null, 'viewer')).name, null)
    t.equal((await touchUser(db, 'cat', null, 'viewer')).name, null)
    t.equal((await touchUser(db, 'cat', 'Cat', 'viewer')).name, 'Cat')
    t.equal((await touchUser(db, 'cat', null, 'viewer')).name, 'Cat', 'a token without a name keeps it')
  })

  t.test('concurrent first sights create one user', async (t) => {
    const rows = await Promise.all(Array.from({ length: 5 }, async () => await touchUser(db, 'dan', 'Dan', 'agent')))
    t.ok(rows.every((r) => r.id === 'dan' && r.name === 'Dan'))
  })

  t.test('updateUser changes name and replaces metadata', async (t) => {
    await touchUser(db, 'eve', 'Eve', 'agent')
    t.match(await updateUser(db, 'eve', { name: 'Evelyn' }), { name: 'Evelyn', metadata: {} })
    const meta = { team: 'red', tags: ['a', 'b'], nested: { deep: true, n: 1.5 } }
    t.strictSame((await updateUser(db, 'eve', { metadata: meta }))?.metadata, meta)
    t.strictSame((await updateUser(db, 'eve', { metadata: { only: 1 } }))?.metadata, { only: 1 }, 'replaced whole, not merged')
    t.match(await updateUser(db, 'eve', {}), { name: 'Evelyn', metadata: { only: 1 } }, 'an empty patch answers the user')
    t.equal((await touchUser(db, 'eve', 'Token Name', 'agent')).name, 'Evelyn', 'a name set by an admin survives the next token')
    t.equal(await updateUser(db, 'nobody', { name: 'x' }), undefined, 'unknown user')
    t.equal(await updateUser(db, 'nobody', {}), undefined, 'unknown user, empty patch')
  })

  t.test('touchUsers: many users in one statement, with touchUser\'s rules', async (t) => {
    await touchUser(db, 'old', null, 'agent')
    await updateUser(db, 'kept', {})
    await touchUser(db, 'named', 'Stored', 'agent')
    const before = Date.now()
    const names = await touchUsers(db, [
      { id: 'new1', name: 'New One', role: 'agent' },
      { id: 'old', name: 'Old', role: 'admin' },
      { id: 'named', name: 'Token', role: 'viewer' },
      { id: 'nameless', name: null, role: 'agent' }
    ])
    t.strictSame(Object.fromEntries(names), { new1: 'New One', old: 'Old', named: 'Stored', nameless: null })
    t.match(await findUser(db, 'old'), { name: 'Old', role: 'admin' }, 'a token name fills an empty name; role follows the token')
    t.match(await findUser(db, 'named'), { name: 'Stored', role: 'viewer' }, 'a stored name is kept')
    t.ok(((await findUser(db, 'new1'))?.lastSeenAt?.getTime() ?? 0) >= before - 1000, 'lastSeenAt is set')
    t.strictSame([...(await touchUsers(db, [])).keys()], [])
  })
})
