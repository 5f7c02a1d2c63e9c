import { randomUUID } from 'node:crypto'
import type { Test } from 'tap'
import type { Bus, ControlEvent, PresenceEntry, ReplicaReport } from '../src/bus.ts'

/**
 * The contract every `Bus` implementation must meet, written against the interface only, as
 * socket.io runs one suite per adapter: `MemoryBus` passes it now, a `RedisBus` must pass it too.
 *
 * Delivery may be asynchronous (another process, a network hop): assertions on what arrived
 * poll until the condition holds, bounded by `timeoutMs`, and "nothing arrived" is checked
 * behind a barrier payload published after it on the same bus. Every subtest uses its own room,
 * user and key names, so an implementation backed by a shared store (Redis with one key prefix
 * per run) can run the whole suite in one keyspace.
 */
export interface ConformanceOptions {
  /**
   * Buses made by one `makeBus` act as replicas of one cluster (shared fan-out, presence,
   * connection counts, buckets and reports), so the cross-replica tests run too. A `RedisBus`
   * with one key prefix per run sets this; separate `MemoryBus` instances do not share anything.
   * @default false
   */
  cluster?: boolean
  /**
   * How long to wait for an asynchronous delivery before failing, in ms.
   * @default 2000
   */
  timeoutMs?: number
}

export type MakeBus = (replicaId?: string) => Promise<Bus>

/** Registers the conformance subtests on `t`. Every bus made is closed at the subtest's teardown. */
export function busConformance (t: Test, makeBus: MakeBus, options: ConformanceOptions = {}): void {
  const timeoutMs = options.timeoutMs ?? 2000

  /** A bus closed when `t` ends (close must therefore be idempotent). */
  const open = async (t: Test, replicaId?: string): Promise<Bus> => {
    const bus = await makeBus(replicaId)
    t.teardown(async () => { await bus.close() })
    return bus
  }

  /** Polls `check` every few ms until it holds; fails the test after `timeoutMs`. */
  const eventually = async (t: Test, what: string, check: () => boolean | Promise<boolean>): Promise<boolean> => {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      if (await check()) return true
      if (Date.now() > deadline) {
        t.fail(`timed out after ${timeoutMs} ms waiting for: ${what}`)
        return false
      }
      await sleep(5)
    }
  }

  /** Names unique to this run, so that a shared store never mixes two tests' data. */
  const unique = (label: string): string => `${label}-${randomUUID().slice(0, 8)}`

  const entry = (userId: string, connectionId: string, since: number, name = userId): PresenceEntry =>
    ({ userId, connectionId, name, state: 'idle', since })

  t.test('publish reaches every subscriber of the room and no other room', async (t) => {
    const bus = await open(t)
    const roomA = unique('room-a')
    const roomB = unique('room-b')
    const a1: string[] = []
    const a2: string[] = []
    const b: string[] = []
    bus.subscribe(roomA, (p) => { a1.push(p) })
    bus.subscribe(roomA, (p) => { a2.push(p) })
    bus.subscribe(roomB, (p) => { b.push(p) })

    await bus.publish(roomA, 'hello')
    await eventually(t, 'both subscribers of room A got the payload', () => a1.length === 1 && a2.length === 1)
    t.strictSame(a1, ['hello'])
    t.strictSame(a2, ['hello'])

    await bus.publish(roomB, 'barrier')
    await eventually(t, 'room B got its own payload', () => b.length === 1)
    t.strictSame(b, ['barrier'], 'room B never saw room A\'s payload')
    t.strictSame(a1, ['hello'], 'room A never saw room B\'s payload')

    await t.resolves(bus.publish(unique('nobody'), 'lost'), 'publishing to a room without subscribers is fine')
  })

  t.test('payloads arrive intact', async (t) => {
    const bus = await open(t)
    const room = unique('room')
    const got: string[] = []
    bus.subscribe(room, (p) => { got.push(p) })
    const payloads = [
      JSON.stringify({ type: 'message', text: 'héllo wörld 👋\n\t"quoted"' }),
      'x'.repeat(64 * 1024),
      '{}'
    ]
    for (const p of payloads) await bus.publish(room, p)
    await eventually(t, 'all payloads arrived', () => got.length === payloads.length)
    t.strictSame(got, payloads)
  })

  t.test('unsubscribe stops delivery to that handler only', async (t) => {
    const bus = await open(t)
    const room = unique('room')
    const gone: string[] = []
    const stays: string[] = []
    const unsubscribe = bus.subscribe(room, (p) => { gone.push(p) })
    bus.subscribe(room, (p) => { stays.push(p) })

    await bus.publish(room, 'one')
    await eventually(t, 'both handlers got the first payload', () => gone.length === 1 && stays.length === 1)
    unsubscribe()
    t.doesNotThrow(() => { unsubscribe() }, 'unsubscribing twice is harmless')
    await bus.publish(room, 'two')
    await eventually(t, 'the remaining handler got the second payload', () => stays.length === 2)
    t.strictSame(gone, ['one'], 'the unsubscribed handler got nothing more')
    t.strictSame(stays, ['one', 'two'])
  })

  t.test('a room can be subscribed again after its last handler left', async (t) => {
    const bus = await open(t)
    const room = unique('room')
    const first: string[] = []
    const unsubscribe = bus.subscribe(room, (p) => { first.push(p) })
    unsubscribe()
    const again: string[] = []
    bus.subscribe(room, (p) => { again.push(p) })
    await bus.publish(room, 'back')
    await eventually(t, 'the new handler got the payload', () => again.length === 1)
    t.strictSame(first, [])
  })

  t.test('payloads arrive in publish order', async (t) => {
    const bus = await open(t)
    const room = unique('room')
    const got: string[] = []
    bus.subscribe(room, (p) => { got.push(p) })
    const sequential = Array.from({ length: 100 }, (_, i) => `s${i}`)
    for (const p of sequential) await bus.publish(room, p)
    // Publishes started in order without waiting for each other (how a hub fans out a batch).
    const pipelined = Array.from({ length: 100 }, (_, i) => `p${i}`)
    await Promise.all(pipelined.map(async (p) => { await bus.publish(room, p) }))
    const expected = [...sequential, ...pipelined]
    await eventually(t, 'every payload arrived', () => got.length >= expected.length)
    t.strictSame(got, expected)
  })

  t.test('publishMany: each room gets its payloads in order, interleaved with publish as called', async (t) => {
    const bus = await open(t)
    const rooms = Array.from({ length: 30 }, () => unique('many'))
    const got = new Map<string, string[]>(rooms.map((room) => [room, []]))
    for (const room of rooms) bus.subscribe(room, (p) => { got.get(room)?.push(p) })
    await Promise.all(rooms.map(async (room) => { await bus.subscribed(room) }))
    const calls: Array<Promise<void>> = []
    for (let i = 0; i < 5; i++) {
      calls.push(bus.publishMany(rooms.map((room) => ({ room, payload: `${room}:b${i}` }))))
      calls.push(bus.publish(rooms[i] as string, `${rooms[i] as string}:single${i}`))
    }
    calls.push(bus.publishMany([]))
    calls.push(bus.publishMany([{ room: rooms[0] as string, payload: 'lone' }]))
    await Promise.all(calls)
    const expected = (room: string, i: number): string[] => [
      ...Array.from({ length: 5 }, (_, b) => [`${room}:b${b}`, ...(b === i ? [`${room}:single${i}`] : [])]).flat(),
      ...(i === 0 ? ['lone'] : [])
    ]
    await eventually(t, 'every payload arrived', () => rooms.every((room, i) => (got.get(room)?.length ?? 0) >= expected(room, i).length))
    rooms.forEach((room, i) => { t.strictSame(got.get(room), expected(room, i), `room ${i}`) })
  })

  t.test('control events reach every handler, the publisher\'s own included', async (t) => {
    const bus = await open(t)
    const tag = unique('ctl')
    const mine = (e: ControlEvent): boolean => ('roomId' in e && e.roomId?.startsWith(tag) === true) || ('userId' in e && e.userId.startsWith(tag))
    const h1: ControlEvent[] = []
    const h2: ControlEvent[] = []
    const off1 = bus.onControl((e) => { if (mine(e)) h1.push(e) })
    bus.onControl((e) => { if (mine(e)) h2.push(e) })

    const events: ControlEvent[] = [
      { type: 'ban', userId: `${tag}-u`, roomId: `${tag}-r`, reason: 'spam' },
      { type: 'ban', userId: `${tag}-u`, roomId: null, reason: '' },
      { type: 'ban_lifted', userId: `${tag}-u` },
      { type: 'membership_revoked', userId: `${tag}-u`, roomId: `${tag}-r` },
      { type: 'room_closed', roomId: `${tag}-r` },
      { type: 'room_updated', roomId: `${tag}-r` }
    ]
    for (const e of events) await bus.control(e)
    await eventually(t, 'both handlers got every event', () => h1.length === events.length && h2.length === events.length)
    t.strictSame(h1, events, 'events arrive whole and in order')
    t.strictSame(h2, events)

    off1()
    const last: ControlEvent = { type: 'room_closed', roomId: `${tag}-last` }
    await bus.control(last)
    await eventually(t, 'the remaining handler got the last event', () => h2.length === events.length + 1)
    t.equal(h1.length, events.length, 'the removed handler got nothing more')
  })

  t.test('presence add and remove report a user\'s first and last connection in a room', async (t) => {
    const bus = await open(t)
    const room = unique('room')
    const other = unique('other')
    const u = unique('u')
    const v = unique('v')
    const now = Date.now()

    t.strictSame(await bus.presence.add(room, entry(u, 'c1', now)), { firstForUser: true })
    t.strictSame(await bus.presence.add(room, entry(u, 'c2', now)), { firstForUser: false }, 'a second connection is not first')
    t.strictSame(await bus.presence.add(room, entry(v, 'c3', now)), { firstForUser: true }, 'users are counted apart')
    t.strictSame(await bus.presence.add(other, entry(u, 'c1', now)), { firstForUser: true }, 'rooms are counted apart')

    t.strictSame(await bus.presence.remove(room, u, 'c1'), { lastForUser: false }, 'another connection remains')
    t.strictSame(await bus.presence.remove(room, u, 'c1'), { lastForUser: false }, 'removing twice is not last')
    t.strictSame(await bus.presence.remove(room, u, 'nope'), { lastForUser: false }, 'unknown connection')
    t.strictSame(await bus.presence.remove(unique('never'), u, 'c2'), { lastForUser: false }, 'unknown room')
    t.strictSame(await bus.presence.remove(room, u, 'c2'), { lastForUser: true })
    t.strictSame((await bus.presence.list(room)).map((m) => m.userId), [v])
    t.strictSame((await bus.presence.list(other)).map((m) => m.userId), [u], 'the other room is untouched')

    t.strictSame(await bus.presence.add(room, entry(u, 'c4', now)), { firstForUser: true }, 'back online: first again')
  })

  t.test('presence list: distinct users by id, earliest since, latest state', async (t) => {
    const bus = await open(t)
    const room = unique('room')
    const tag = unique('u')
    const [a, b, c] = [`${tag}-a`, `${tag}-b`, `${tag}-c`]
    await bus.presence.add(room, entry(c, 'c-1', 3000, 'Carol'))
    await bus.presence.add(room, entry(a, 'a-1', 2000, 'Alice'))
    await bus.presence.add(room, entry(a, 'a-2', 1000, 'Alice'))
    await bus.presence.add(room, entry(b, 'b-1', 4000, 'Bob'))

    t.strictSame(await bus.presence.list(room), [
      { userId: a, name: 'Alice', since: 1000, state: 'idle' },
      { userId: b, name: 'Bob', since: 4000, state: 'idle' },
      { userId: c, name: 'Carol', since: 3000, state: 'idle' }
    ])

    await bus.presence.setState(a, 'thinking')
    await bus.presence.setState(a, 'busy')
    await bus.presence.setState(c, 'streaming')
    t.strictSame((await bus.presence.list(room)).map((m) => [m.userId, m.state]), [[a, 'busy'], [b, 'idle'], [c, 'streaming']])

    const elsewhere = unique('room')
    await bus.presence.add(elsewhere, entry(a, 'a-3', 5000, 'Alice'))
    t.strictSame(await bus.presence.list(elsewhere), [{ userId: a, name: 'Alice', since: 5000, state: 'busy' }], 'state is the user\'s, in every room')

    await bus.presence.remove(room, a, 'a-2')
    t.equal((await bus.presence.list(room))[0]?.since, 2000, 'since follows the earliest live connection')

    t.strictSame(await bus.presence.list(unique('empty')), [], 'an empty room lists nobody')
  })

  t.test('presence counts distinct users per room', async (t) => {
    const bus = await open(t)
    const [r1, r2, r3] = [unique('r1'), unique('r2'), unique('r3')]
    const [u, v] = [unique('u'), unique('v')]
    await bus.presence.add(r1, entry(u, 'c1', 1))
    await bus.presence.add(r1, entry(u, 'c2', 2))
    await bus.presence.add(r1, entry(v, 'c3', 3))
    await bus.presence.add(r2, entry(u, 'c1', 1))

    const counts = await bus.presence.counts([r1, r2, r3])
    t.strictSame([...counts.entries()].sort(), [[r1, 2], [r2, 1], [r3, 0]].sort(), 'every asked room is answered, empty ones with 0')
    t.equal((await bus.presence.counts([])).size, 0)

    await bus.presence.remove(r1, u, 'c1')
    t.equal((await bus.presence.counts([r1])).get(r1), 2, 'a user with a connection left still counts')
  })

  t.test('a user\'s state is forgotten once their last connection is released', async (t) => {
    const bus = await open(t)
    const room = unique('room')
    const u = unique('u')
    t.equal(await bus.acquireConnection(u, 'c1', 5), true)
    t.equal(await bus.acquireConnection(u, 'c2', 5), true)
    await bus.presence.add(room, entry(u, 'c1', 1))
    await bus.presence.add(room, entry(u, 'c2', 2))
    await bus.presence.setState(u, 'busy')

    await bus.presence.remove(room, u, 'c1')
    await bus.releaseConnection(u, 'c1')
    t.equal((await bus.presence.list(room))[0]?.state, 'busy', 'kept while another connection lives')

    await bus.presence.remove(room, u, 'c2')
    await bus.releaseConnection(u, 'c2')
    t.equal(await bus.acquireConnection(u, 'c3', 5), true)
    await bus.presence.add(room, entry(u, 'c3', 3))
    t.strictSame(await bus.presence.list(room), [{ userId: u, name: u, since: 3, state: 'idle' }], 'the next session starts idle')
  })

  t.test('acquireConnection caps connections per user', async (t) => {
    const bus = await open(t)
    const [u, v] = [unique('u'), unique('v')]
    t.equal(await bus.acquireConnection(u, 'c1', 2), true)
    t.equal(await bus.acquireConnection(u, 'c2', 2), true)
    t.equal(await bus.acquireConnection(u, 'c3', 2), false, 'refused at the cap')
    t.equal(await bus.acquireConnection(u, 'c1', 2), true, 'an already registered connection is accepted again')
    t.equal(await bus.acquireConnection(v, 'c1', 2), true, 'users are counted apart')

    await bus.releaseConnection(u, 'c1')
    // Had the refused c3 been registered, u would still be at the cap here.
    t.equal(await bus.acquireConnection(u, 'c4', 2), true, 'a released slot is free again')
    t.equal(await bus.acquireConnection(u, 'c5', 2), false, 'the refused connection took no slot')

    await t.resolves(bus.releaseConnection(u, 'never'), 'releasing an unknown connection is harmless')
    await t.resolves(bus.releaseConnection(unique('nobody'), 'c1'), 'releasing for an unknown user is harmless')
    await bus.releaseConnection(u, 'c2')
    await bus.releaseConnection(u, 'c4')
    t.equal(await bus.acquireConnection(u, 'c6', 1), true, 'all released: the cap applies afresh')
  })

  t.test('take is a token bucket whose burst equals the rate', async (t) => {
    const bus = await open(t)
    const key = unique('key')
    const rate = 10
    const decisions = []
    for (let i = 0; i < rate; i++) decisions.push(await bus.take(key, rate))
    t.ok(decisions.every((d) => d.ok), 'a full bucket allows `rate` takes at once')
    const refused = await bus.take(key, rate)
    t.equal(refused.ok, false, 'the next one is refused')
    t.ok(refused.retryAfterMs > 0 && refused.retryAfterMs <= 1000 / rate, `retryAfterMs within one token's time (got ${refused.retryAfterMs})`)
    t.equal((await bus.take(unique('key'), rate)).ok, true, 'keys are independent')

    await sleep(refused.retryAfterMs + 20)
    t.equal((await bus.take(key, rate)).ok, true, 'a token is back after retryAfterMs')
  })

  t.test('takes issued together decide as if one after another, each on its own bucket', async (t) => {
    const bus = await open(t)
    const [a, b, c] = [unique('a'), unique('b'), unique('c')]
    const decisions = await Promise.all([
      bus.take(a, 3), bus.take(b, 1), bus.take(a, 3), bus.take(c, 2),
      bus.take(a, 3), bus.take(b, 1), bus.take(a, 3), bus.take(c, 2)
    ])
    t.strictSame(decisions.map((d) => d.ok), [true, true, true, true, true, false, false, true],
      'a: 3 of 4 pass, b: 1 of 2, c: 2 of 2')
    t.ok(decisions.every((d) => d.ok ? d.retryAfterMs === 0 : d.retryAfterMs > 0), 'only refusals carry a wait')
  })

  t.test('take with a rate below one per second still allows one', async (t) => {
    const bus = await open(t)
    const key = unique('slow')
    t.equal((await bus.take(key, 0.5)).ok, true, 'the burst is at least one token')
    const refused = await bus.take(key, 0.5)
    t.equal(refused.ok, false)
    t.ok(refused.retryAfterMs > 1000 && refused.retryAfterMs <= 2000, `the next token is ~2 s away (got ${refused.retryAfterMs})`)
  })

  t.test('report and replicas', async (t) => {
    const replicaId = unique('replica')
    const bus = await open(t, replicaId)
    t.equal(bus.replicaId, replicaId, 'the bus takes the replica id it is given')
    const report: ReplicaReport = { id: replicaId, connections: 3, messagesPerSec: 1.5, startedAt: Date.now() - 1000 }
    await bus.report(report)
    t.strictSame((await bus.replicas()).filter((r) => r.id === replicaId), [report])
    const later = { ...report, connections: 4, messagesPerSec: 0 }
    await bus.report(later)
    t.strictSame((await bus.replicas()).filter((r) => r.id === replicaId), [later], 'a new report replaces the last one')

    const anonymous = await open(t)
    t.type(anonymous.replicaId, 'string')
    t.ok(anonymous.replicaId.length > 0, 'without one, the bus makes up a replica id')
  })

  t.test('ping answers while open; close is idempotent', async (t) => {
    const bus = await makeBus()
    await t.resolves(bus.ping())
    await t.resolves(bus.close())
    await t.resolves(bus.close(), 'closing twice is harmless')
  })

  if (options.cluster !== true) return

  t.test('cluster: publish and control reach every replica', async (t) => {
    const a = await open(t, unique('a'))
    const b = await open(t, unique('b'))
    const room = unique('room')
    const onA: string[] = []
    const onB: string[] = []
    a.subscribe(room, (p) => { onA.push(p) })
    b.subscribe(room, (p) => { onB.push(p) })
    for (let i = 0; i < 20; i++) await (i % 2 === 0 ? a : b).publish(room, `m${i}`)
    const expected = Array.from({ length: 20 }, (_, i) => `m${i}`)
    await eventually(t, 'both replicas got every payload', () => onA.length === 20 && onB.length === 20)
    t.strictSame(onA, expected, 'in publish order, whichever replica published')
    t.strictSame(onB, expected)

    const tag = unique('room')
    const ctlA: ControlEvent[] = []
    const ctlB: ControlEvent[] = []
    a.onControl((e) => { if ('roomId' in e && e.roomId === tag) ctlA.push(e) })
    b.onControl((e) => { if ('roomId' in e && e.roomId === tag) ctlB.push(e) })
    await a.control({ type: 'room_closed', roomId: tag })
    await eventually(t, 'both replicas got the control event', () => ctlA.length === 1 && ctlB.length === 1)
  })

  t.test('cluster: once subscribed() resolves, another replica\'s very next publish arrives', async (t) => {
    const a = await open(t, unique('a'))
    const b = await open(t, unique('b'))
    // Twenty fresh rooms: a subscription confirmed late would lose some of these first payloads.
    const rooms = Array.from({ length: 20 }, () => unique('fresh'))
    const got = new Map<string, string[]>()
    await Promise.all(rooms.map(async (room) => {
      got.set(room, [])
      a.subscribe(room, (p) => { got.get(room)?.push(p) })
      await a.subscribed(room)
      await b.publish(room, 'first')
    }))
    await eventually(t, 'every first payload arrived', () => rooms.every((room) => got.get(room)?.length === 1))
  })

  t.test('cluster: publishMany reaches rooms another replica subscribed a moment ago, and many at once', async (t) => {
    const a = await open(t, unique('a'))
    const b = await open(t, unique('b'))
    const rooms = Array.from({ length: 20 }, () => unique('fresh'))
    const got = new Map<string, string[]>(rooms.map((room) => [room, []]))
    for (const room of rooms) a.subscribe(room, (p) => { got.get(room)?.push(p) })
    await Promise.all(rooms.map(async (room) => { await a.subscribed(room) }))
    // Subscribed on b just now, not yet confirmed: those rooms' payloads wait for the subscription,
    // so that b's own handlers get them too.
    const onB: string[] = []
    for (const room of rooms.slice(0, 10)) b.subscribe(room, (p) => { if (p === 'first') onB.push(room) })
    await b.publishMany(rooms.map((room) => ({ room, payload: 'first' })))
    // More than one script call's worth (500) over the same rooms, in order.
    const many = Array.from({ length: 1200 }, (_, i) => ({ room: rooms[i % rooms.length] as string, payload: `n${i}` }))
    await b.publishMany(many)
    await eventually(t, 'every payload arrived', () => rooms.every((room) => got.get(room)?.length === 61) && onB.length === 10)
    t.strictSame(onB.sort(), rooms.slice(0, 10).sort(), 'the publisher\'s own new subscriptions got theirs')
    rooms.forEach((room, r) => {
      t.strictSame(got.get(room), ['first', ...many.filter((e) => e.room === room).map((e) => e.payload)], `room ${r}`)
    })
  })

  t.test('cluster: presence, connection caps and buckets are shared', async (t) => {
    const a = await open(t, unique('a'))
    const b = await open(t, unique('b'))
    const room = unique('room')
    const u = unique('u')

    t.strictSame(await a.presence.add(room, entry(u, 'ca', 2000)), { firstForUser: true })
    t.strictSame(await b.presence.add(room, entry(u, 'cb', 1000)), { firstForUser: false }, 'online through another replica')
    await b.presence.setState(u, 'waiting')
    t.strictSame(await a.presence.list(room), [{ userId: u, name: u, since: 1000, state: 'waiting' }])
    t.equal((await a.presence.counts([room])).get(room), 1)
    t.strictSame(await a.presence.remove(room, u, 'ca'), { lastForUser: false })
    t.strictSame(await a.presence.remove(room, u, 'cb'), { lastForUser: true }, 'any replica may remove')

    t.equal(await a.acquireConnection(u, 'ca', 2), true)
    t.equal(await b.acquireConnection(u, 'cb', 2), true)
    t.equal(await b.acquireConnection(u, 'cc', 2), false, 'the cap counts across replicas')
    await a.releaseConnection(u, 'ca')
    t.equal(await b.acquireConnection(u, 'cc', 2), true)

    const key = unique('key')
    for (let i = 0; i < 3; i++) await a.take(key, 5)
    for (let i = 0; i < 2; i++) t.equal((await b.take(key, 5)).ok, true)
    t.equal((await b.take(key, 5)).ok, false, 'one bucket for all replicas')
  })

  t.test('cluster: replicas lists every replica\'s report', async (t) => {
    const a = await open(t, unique('a'))
    const b = await open(t, unique('b'))
    const ra: ReplicaReport = { id: a.replicaId, connections: 1, messagesPerSec: 2, startedAt: 1 }
    const rb: ReplicaReport = { id: b.replicaId, connections: 3, messagesPerSec: 4, startedAt: 5 }
    await a.report(ra)
    await b.report(rb)
    for (const bus of [a, b]) {
      const mine = (await bus.replicas()).filter((r) => r.id === ra.id || r.id === rb.id)
      t.strictSame(mine.sort((x, y) => x.connections - y.connections), [ra, rb])
    }
  })
}

async function sleep (ms: number): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, ms))
}
