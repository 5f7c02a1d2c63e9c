import t from 'tap'
import { eachDatabase, startServer } from '../helpers.ts'

eachDatabase(t, async (t, kind) => {
  const server = await startServer(t, kind)
  await server.room('plaza')
  const alice = await server.connect('alice', 'agent', 'Alice')
  await alice.request({ type: 'join', room: 'plaza' })

  t.test('join, state and leave reach other members; a joiner gets no presence.join for itself', async (t) => {
    const bob = await server.connect('bob', 'agent', 'Bob')
    await bob.request({ type: 'join', room: 'plaza' })
    t.match(await alice.next((f) => f.type === 'presence.join'), { room: 'plaza', user: { id: 'bob', name: 'Bob', state: 'idle' } })
    t.ok(await bob.nothing((f) => f.type === 'presence.join'))

    bob.send({ type: 'state', state: 'thinking' })
    t.match(await alice.next((f) => f.type === 'presence.state'), { user: { id: 'bob', state: 'thinking' } })

    const list = await alice.request({ type: 'presence', room: 'plaza' })
    t.equal(list.type, 'presence')
    t.strictSame(list.members.map((m: { id: string, state: string }) => [m.id, m.state]), [['alice', 'idle'], ['bob', 'thinking']])
    t.type(list.members[0].since, 'number')

    const bob2 = await server.connect('bob')
    await bob2.request({ type: 'join', room: 'plaza' })
    t.ok(await alice.nothing((f) => f.type === 'presence.join'), 'a second connection is not a new join')
    bob.close()
    t.ok(await alice.nothing((f) => f.type === 'presence.leave'), 'bob still has a connection')
    bob2.close()
    t.match(await alice.next((f) => f.type === 'presence.leave'), { user: { id: 'bob' } })
  })

  t.test('a joiner\'s presence.join reaches members before the first message it sends', async (t) => {
    const carol = await server.connect('carol', 'agent', 'Carol')
    await carol.request({ type: 'join', room: 'plaza' })
    await carol.request({ type: 'send', room: 'plaza', id: 'hello-1', text: 'hi' })
    const [join, message] = await alice.collect(2, (f) => (f.type === 'presence.join' && f.user.id === 'carol') || (f.type === 'message' && f.id === 'hello-1'))
    t.equal(join.type, 'presence.join')
    t.equal(message.type, 'message')
    carol.close()
    await alice.next((f) => f.type === 'presence.leave' && f.user.id === 'carol')
  })

  t.test('viewers watch without appearing in presence', async (t) => {
    const viewer = await server.connect('dash', 'viewer')
    await viewer.request({ type: 'join', room: 'plaza' })
    t.ok(await alice.nothing((f) => f.type === 'presence.join'))
    const list = await viewer.request({ type: 'presence', room: 'plaza' })
    t.strictSame(list.members.map((m: { id: string }) => m.id), ['alice'])
  })

  t.test('ping answers pong', async (t) => {
    t.match(await alice.request({ type: 'ping' }), { type: 'pong' })
  })
})
