import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import postgres from 'postgres'
import { commitMessages, defaultMigrationsFolder, findRoom, insertRoom, openDatabase, readHistory, type DatabaseHandle, type NewMessage } from '../src/index.ts'
import { createTestDatabase, emptySchema, testDatabaseKinds } from '../src/testing.ts'

const msg = (clientId: string): NewMessage => ({ roomId: 'lobby', clientId, senderId: 'ann', senderName: 'Ann', text: clientId })

t.test('a PGlite data dir survives a restart: history intact, seq continues', async (t) => {
  const testDb = await createTestDatabase('pglite')
  t.teardown(async () => { await testDb.destroy() })
  const dataDir = testDb.options.dataDir
  if (dataDir === undefined) throw new Error('a PGlite test database has a data dir')

  const first = await openDatabase({ dataDir })
  await first.migrate()
  await insertRoom(first.db, { id: 'lobby', name: 'Lobby', visibility: 'public', config: {}, metadata: { a: 1 }, createdBy: null })
  const committed = await commitMessages(first.db, [msg('m1'), msg('m2'), msg('m3')])
  t.strictSame(committed.map((o) => o.ok && o.message.seq), [1, 2, 3])
  const before = await readHistory(first.db, 'lobby', { limit: 50, direction: 'asc' })
  await first.close()

  const second = await openDatabase({ dataDir })
  await t.resolves(second.migrate(), 'migrating an up-to-date database is a no-op')
  t.match(await findRoom(second.db, 'lobby'), { name: 'Lobby', metadata: { a: 1 }, lastSeq: 3 })
  t.strictSame(await readHistory(second.db, 'lobby', { limit: 50, direction: 'asc' }), before, 'history intact')

  const [next, again] = await commitMessages(second.db, [msg('m4'), msg('m2')])
  t.equal(next?.ok === true && next.message.seq, 4, 'the next commit continues the seq')
  t.match(again, { ok: true, duplicate: true, message: { seq: 2 } }, 'idempotency survives the restart')
  await second.close()
})

const journalEntries = (): number =>
  (JSON.parse(readFileSync(join(defaultMigrationsFolder, 'meta', '_journal.json'), 'utf8')) as { entries: unknown[] }).entries.length

t.test('three replicas migrating one fresh Postgres database at once', { skip: testDatabaseKinds().includes('postgres') ? false : 'DATABASE_URL is not set' }, async (t) => {
  const testDb = await createTestDatabase('postgres')
  const handles: DatabaseHandle[] = []
  t.teardown(async () => {
    await Promise.all(handles.map(async (h) => { await h.close() }))
    await testDb.destroy()
  })
  const url = testDb.options.url
  if (url === undefined) throw new Error('a Postgres test database has a url')

  // createTestDatabase migrates; put the database back to empty, as on a first deploy.
  const reset = await openDatabase({ url, poolSize: 1 })
  await emptySchema(reset)
  await reset.close()

  const replicas = await Promise.all([1, 2, 3].map(async () => await openDatabase({ url, poolSize: 2 })))
  handles.push(...replicas)
  t.equal(await replicas[0]?.isSchemaCurrent(), false, 'an empty database is not at the schema')
  const results = await Promise.allSettled(replicas.map(async (r) => { await r.migrate() }))
  t.strictSame(results.map((r) => r.status), ['fulfilled', 'fulfilled', 'fulfilled'], 'every migrate() succeeds')

  const check = postgres(url, { max: 1, onnotice: () => {} })
  const [applied] = await check<Array<{ n: number }>>`select count(*)::int as n from drizzle.__drizzle_migrations`
  t.equal(applied?.n, journalEntries(), 'each migration recorded once')
  const tables = await check<Array<{ name: string }>>`select table_name as name from information_schema.tables where table_schema = 'public' order by 1`
  await check.end()
  t.strictSame(tables.map((r) => r.name), ['bans', 'messages', 'room_first_joins', 'room_members', 'rooms', 'users'])

  const [first] = replicas
  if (first === undefined) throw new Error('unreachable')
  await t.resolves(first.migrate(), 'a later migrate() is a no-op')
  t.equal(await first.isSchemaCurrent(), true, 'and the schema is current')
  const { db } = first
  await insertRoom(db, { id: 'lobby', name: 'Lobby', visibility: 'public', config: {}, metadata: {}, createdBy: null })
  const [out] = await commitMessages(db, [msg('m1')])
  t.equal(out?.ok === true && out.message.seq, 1, 'the schema works')
})

t.test('isSchemaCurrent on PGlite: false before migrating, true after', async (t) => {
  const memory = await openDatabase({})
  t.teardown(async () => { await memory.close() })
  t.equal(await memory.isSchemaCurrent(), false)
  await memory.migrate()
  t.equal(await memory.isSchemaCurrent(), true)
})
