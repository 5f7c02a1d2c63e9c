import t from 'tap'
import { deleteMessagesBefore } from '@pan/db'
import { eachDatabase, startServer } from '../helpers.ts'

eachDatabase(t, async (t, kind) => {
  const server = await startServer(t, kind)
  await server.room('hall')
  const alice = await server.connect('alice')
  t.match(await alice.request({ type: 'join', room: 'hall' }), { type: 'joined', room: 'hall', seq: 0 }, 'an empty room has seq 0')
  for (let i = 1; i <= 5; i++) await alice.request({ type: 'send', room: 'hall', id: `m${i}`, text: `t${i}` })

  t.test('join with since replays exactly the missed messages, then goes live', async (t) => {
    const bob = await server.connect('bob')
    const joined = await bob.request({ type: 'join', room: 'hall', since: 2 })
    t.match(joined, { type: 'joined', seq: 5 })
    t.notOk('truncated' in joined)
    const replay = await bob.collect(3, (f) => f.type === 'message')
    t.strictSame(replay.map((m) => m.seq), [3, 4, 5])
    await alice.request({ type: 'send', room: 'hall', id: 'm6', text: 't6' })
    const live = await bob.next((f) => f.type === 'message')
    t.equal(live.seq, 6)
    t.ok(await bob.nothing((f) => f.type === 'message'), 'no duplicate')
    t.match(await bob.request({ type: 'join', room: 'hall' }), { type: 'joined', seq: 6 }, 'joining a joined room answers joined again')
    t.match(await bob.request({ type: 'leave', room: 'hall' }), { type: 'left', room: 'hall' })
    t.match(await bob.request({ type: 'leave', room: 'hall' }), { type: 'left', room: 'hall' }, 'leaving a room not joined answers left')
    await alice.request({ type: 'send', room: 'hall', id: 'm7', text: 't7' })
    t.ok(await bob.nothing((f) => f.type === 'message'), 'no messages after leaving')
  })

  t.test('messages sent during a replay are neither lost nor doubled', async (t) => {
    const carol = await server.connect('carol')
    carol.send({ type: 'join', room: 'hall', since: 0, ref: 'j' })
    for (let i = 0; i < 20; i++) alice.send({ type: 'send', room: 'hall', id: `during-${i}`, text: 'x' })
    await carol.next((f) => f.ref === 'j')
    const all = await carol.collect(27, (f) => f.type === 'message')
    t.strictSame(all.map((m) => m.seq), Array.from({ length: 27 }, (_, i) => i + 1))
    t.ok(await carol.nothing((f) => f.type === 'message'))
  })

  t.test('since above the latest replays nothing and live continues', async (t) => {
    const dave = await server.connect('dave')
    const joined = await dave.request({ type: 'join', room: 'hall', since: 1000 })
    t.equal(joined.seq, 27)
    await alice.request({ type: 'send', room: 'hall', id: 'after-high', text: 'x' })
    const live = await dave.next((f) => f.type === 'message')
    t.equal(live.seq, 28)
  })

  t.test('a resume across deleted messages names the lost range', async (t) => {
    await deleteMessagesBefore(server.app.database.db, 'hall', new Date(Date.now() + 60_000))
    await alice.request({ type: 'send', room: 'hall', id: 'survivor', text: 'x' })
    const eve = await server.connect('eve')
    const joined = await eve.request({ type: 'join', room: 'hall', since: 3 })
    t.strictSame(joined.truncated, { from: 4, to: 28 })
    const [msg] = await eve.collect(1, (f) => f.type === 'message')
    t.equal(msg.seq, 29)
  })

  t.test('historyForNewMembers false limits replay to messages from the first join on', async (t) => {
    await server.room('fresh', { config: { historyForNewMembers: false } })
    await alice.request({ type: 'join', room: 'fresh' })
    await alice.request({ type: 'send', room: 'fresh', id: 'old', text: 'before frank' })
    const frank = await server.connect('frank')
    t.match(await frank.request({ type: 'join', room: 'fresh', since: 0 }), { seq: 1 })
    t.ok(await frank.nothing((f) => f.type === 'message'), 'older message hidden')
    await alice.request({ type: 'send', room: 'fresh', id: 'new', text: 'after frank' })
    t.equal((await frank.next((f) => f.type === 'message')).id, 'new')
  })

  t.test('a private room is forbidden to non-members', async (t) => {
    await server.room('secret', { visibility: 'private' })
    const gina = await server.connect('gina')
    t.match(await gina.request({ type: 'join', room: 'secret' }), { type: 'error', code: 'forbidden' })
    const admin = await server.connect('root', 'admin')
    t.match(await admin.request({ type: 'join', room: 'secret' }), { type: 'joined' })
  })
})
