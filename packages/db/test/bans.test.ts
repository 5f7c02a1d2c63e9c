import t from 'tap'
import { activeBansOf, activeBansOfUsers, findBan, insertBan, liftBan, listBans, type BanRow, type NewBan } from '../src/index.ts'
import { eachDatabase, openTestDatabase } from './helpers.ts'

const HOUR = 3_600_000
const sleep = async (ms: number): Promise<void> => { await new Promise((resolve) => setTimeout(resolve, ms)) }
const ban = (userId: string, more: Partial<NewBan> = {}): NewBan =>
  ({ userId, roomId: null, reason: null, createdBy: null, expiresAt: null, ...more })

eachDatabase(t, async (t, kind) => {
  const { db } = await openTestDatabase(t, kind)

  t.test('insertBan stores a ban; findBan reads it back', async (t) => {
    const expiresAt = new Date(Date.now() + HOUR)
    const row = await insertBan(db, ban('ann', { roomId: 'lobby', reason: 'spam', createdBy: 'admin', expiresAt }))
    t.match(row, { userId: 'ann', roomId: 'lobby', reason: 'spam', createdBy: 'admin', liftedAt: null })
    t.type(row.id, 'string')
    t.type(row.createdAt, Date)
    t.equal(row.expiresAt?.getTime(), expiresAt.getTime())
    t.strictSame(await findBan(db, row.id), row)
    t.equal(await findBan(db, 'nope'), undefined)
    const other = await insertBan(db, ban('ann'))
    t.not(other.id, row.id, 'every ban gets its own id')
  })

  t.test('liftBan sets liftedAt once and keeps the row', async (t) => {
    const row = await insertBan(db, ban('bob'))
    const lifted = await liftBan(db, row.id)
    t.type(lifted?.liftedAt, Date)
    const again = await liftBan(db, row.id)
    t.equal(again?.liftedAt?.getTime(), lifted?.liftedAt?.getTime(), 'lifting twice keeps the first liftedAt')
    t.ok(await findBan(db, row.id), 'the row stays')
    t.equal(await liftBan(db, 'nope'), undefined, 'unknown ban')
  })

  t.test('activeBansOf: neither lifted nor expired, network-wide and per room', async (t) => {
    const now = Date.now()
    const network = await insertBan(db, ban('cat'))
    const room = await insertBan(db, ban('cat', { roomId: 'lobby', expiresAt: new Date(now + HOUR) }))
    await insertBan(db, ban('cat', { roomId: 'old', expiresAt: new Date(now - 1000) }))
    const lifted = await insertBan(db, ban('cat', { roomId: 'lifted' }))
    await liftBan(db, lifted.id)
    await insertBan(db, ban('dan'))
    const active = await activeBansOf(db, 'cat')
    t.strictSame(active.map((b) => b.id).sort(), [network.id, room.id].sort())
    t.strictSame(await activeBansOf(db, 'eve'), [], 'a user never banned')

    const many = await activeBansOfUsers(db, ['cat', 'dan', 'eve'])
    t.strictSame([...many.keys()], ['cat', 'dan', 'eve'], 'every user asked for, in order')
    t.strictSame(many.get('cat')?.map((b) => b.id).sort(), [network.id, room.id].sort(), 'the same rows as activeBansOf')
    t.equal(many.get('dan')?.length, 1)
    t.strictSame(many.get('eve'), [], 'an empty list for a user never banned')
    t.strictSame([...(await activeBansOfUsers(db, [])).keys()], [])
  })

  t.test('listBans filters by room, user and activity', async (t) => {
    const h = await openTestDatabase(t, kind)
    const now = Date.now()
    // A few ms apart: PGlite's clock may give two quick inserts the same created_at.
    const later = async (b: NewBan): Promise<BanRow> => { await sleep(3); return await insertBan(h.db, b) }
    const a = await later(ban('u1'))
    const b = await later(ban('u1', { roomId: 'r1' }))
    const c = await later(ban('u2', { roomId: 'r1', expiresAt: new Date(now - 1000) }))
    const d = await later(ban('u2', { roomId: 'r2', expiresAt: new Date(now + HOUR) }))
    await liftBan(h.db, b.id)
    const ids = async (q: Omit<Parameters<typeof listBans>[1], 'limit'>): Promise<string[]> =>
      (await listBans(h.db, { ...q, limit: 50 })).map((row) => row.id)

    t.strictSame(await ids({}), [a.id, b.id, c.id, d.id], 'all, in creation order')
    t.strictSame(await ids({ roomId: 'r1' }), [b.id, c.id])
    t.strictSame(await ids({ userId: 'u2' }), [c.id, d.id])
    t.strictSame(await ids({ active: true }), [a.id, d.id])
    t.strictSame(await ids({ active: false }), [b.id, c.id], 'lifted or expired')
    t.strictSame(await ids({ roomId: 'r1', userId: 'u2', active: false }), [c.id])
    t.strictSame(await ids({ roomId: 'r3' }), [])
  })

  t.test('listBans pages through every ban exactly once', async (t) => {
    const h = await openTestDatabase(t, kind)
    const created: BanRow[] = []
    for (let i = 0; i < 7; i++) created.push(await insertBan(h.db, ban(`p${i}`)))
    // Several bans inside one millisecond, as a burst of POST /v1/bans makes.
    created.push(...await Promise.all([0, 1, 2, 3, 4].map(async (i) => await insertBan(h.db, ban(`q${i}`)))))

    const seen: string[] = []
    let afterId: string | undefined
    for (let page = 0; page < 20; page++) {
      const rows = await listBans(h.db, { afterId, limit: 3 })
      seen.push(...rows.map((r) => r.id))
      afterId = rows.at(-1)?.id
      if (rows.length < 3) break
    }
    t.equal(seen.length, created.length, 'no ban twice, none missing')
    t.strictSame([...seen].sort(), created.map((r) => r.id).sort())
    const all = (await listBans(h.db, { limit: 50 })).map((r) => r.id)
    t.strictSame(seen, all, 'pages follow the list order')

    t.strictSame(await listBans(h.db, { afterId: 'unknown', limit: 3 }), [], 'an unknown cursor id yields an empty page')
  })
})
