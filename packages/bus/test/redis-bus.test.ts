import { spawn } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { once } from 'node:events'
import { fileURLToPath } from 'node:url'
import { Redis } from 'ioredis'
import t, { type Test } from 'tap'
import { RedisBus, type BusLogger, type ExpiredPresence, type RedisBusOptions } from '../src/index.ts'
import { busConformance } from './conformance.ts'

const url = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379'
/** Every key of this run is under it; deleted at the end. */
const prefix = `pan-test-${randomUUID()}:`

/** Collects what the bus logs, so that tests can assert it and the output stays clean. */
function recorder (): BusLogger & { warns: string[], errors: string[] } {
  const warns: string[] = []
  const errors: string[] = []
  return { warns, errors, warn: (_obj, msg) => { warns.push(msg) }, error: (_obj, msg) => { errors.push(msg) } }
}

async function reachable (): Promise<boolean> {
  const probe = new Redis(url, { lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0, connectTimeout: 1000 })
  probe.on('error', () => {})
  try {
    await probe.connect()
    await probe.ping()
    return true
  } catch {
    return false
  } finally {
    probe.disconnect()
  }
}

async function sleep (ms: number): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, ms))
}

/** Polls `check` until it holds or `ms` pass; returns whether it held. */
async function within (ms: number, check: () => boolean | Promise<boolean>): Promise<boolean> {
  const deadline = Date.now() + ms
  for (;;) {
    if (await check()) return true
    if (Date.now() > deadline) return false
    await sleep(10)
  }
}

const up = await reachable()
// CI provides Redis: there, a missing one is a failure, never a skip.
if (!up && process.env.CI !== undefined) t.fail(`Redis is not reachable at ${url} (REDIS_URL); CI must start it`)
const skip = up ? false : `Redis is not reachable at ${url}; set REDIS_URL or start redis-server to run these tests`

t.test('RedisBus', { skip }, async (t) => {
  const admin = new Redis(url)
  t.teardown(async () => {
    let cursor = '0'
    do {
      const [next, keys] = await admin.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000)
      if (keys.length > 0) await admin.del(...keys)
      cursor = next
    } while (cursor !== '0')
    await admin.quit()
  })

  /** The id of the connection named `name` (RedisBus names its connections `<prefix><replica>:cmd|sub`). */
  const clientId = async (name: string): Promise<string> => {
    const line = (await admin.client('LIST') as string).split('\n').find((l) => l.includes(` name=${name} `))
    const id = line?.match(/^id=(\d+) /)?.[1]
    if (id === undefined) throw new Error(`no Redis client named ${name}`)
    return id
  }

  /** A connected bus closed at `t`'s end; `space` gives a test a keyspace of its own. */
  const open = async (t: Test, options: Partial<RedisBusOptions> & { space?: string } = {}): Promise<RedisBus> => {
    const { space, ...rest } = options
    const bus = await RedisBus.connect({ url, keyPrefix: space === undefined ? prefix : `${prefix}${space}:`, logger: recorder(), ...rest })
    t.teardown(async () => { await bus.close() })
    return bus
  }

  t.test('conformance', async (t) => {
    busConformance(t, async (replicaId) => await open(t, { replicaId }), { cluster: true })
  })

  const fast = { leaseMs: 600, heartbeatMs: 200 }

  t.test('a killed replica\'s users leave presence on one survivor, and free their slots', async (t) => {
    const space = randomUUID().slice(0, 8)
    const survivors = [await open(t, { ...fast, space, replicaId: 'a' }), await open(t, { ...fast, space, replicaId: 'b' })]
    const expired: Array<{ on: string, left: ExpiredPresence[] }> = []
    for (const bus of survivors) bus.onPresenceExpired((left) => { expired.push({ on: bus.replicaId, left }) })
    const [a] = survivors
    if (a === undefined) throw new Error('unreachable')

    const fixture = fileURLToPath(new URL('./fixtures/redis-replica.ts', import.meta.url))
    const child = spawn(process.execPath, ['--import=tsx', fixture, url, `${prefix}${space}:`, 'doomed', '600', '200', 'room-k', 'user-k', 'Kay'], { stdio: ['ignore', 'pipe', 'inherit'] })
    t.teardown(() => { child.kill('SIGKILL') })
    let output = ''
    child.stdout.on('data', (chunk: Buffer) => { output += chunk.toString() })
    t.ok(await within(15_000, () => output.includes('ready')), 'the replica to kill registered its user')
    t.strictSame((await a.presence.list('room-k')).map((m) => [m.userId, m.name]), [['user-k', 'Kay']])
    t.equal(await a.acquireConnection('user-k', 'other', 1), false, 'the doomed replica\'s connection counts against the cap')

    child.kill('SIGKILL')
    await once(child, 'exit')
    const killedAt = Date.now()
    // Its lease was renewed at most heartbeatMs before the kill, and runs out within leaseMs;
    // a survivor's heartbeat sees that within heartbeatMs. Slack for scheduling and round trips.
    const gone = await within(fast.leaseMs + fast.heartbeatMs + 400, async () => (await a.presence.list('room-k')).length === 0)
    t.ok(gone, `the user left presence within leaseMs + heartbeatMs (after ${Date.now() - killedAt} ms)`)
    t.equal((await a.presence.counts(['room-k'])).get('room-k'), 0)
    t.equal(await a.acquireConnection('user-k', 'other', 1), true, 'the dead replica\'s connection no longer counts')

    await sleep(3 * fast.heartbeatMs)
    t.equal(expired.length, 1, 'exactly one survivor announced the leave')
    t.strictSame(expired[0]?.left, [{ room: 'room-k', userId: 'user-k', name: 'Kay' }])
  })

  t.test('a replica restarted under the same id removes and announces what its killed predecessor left', async (t) => {
    const space = randomUUID().slice(0, 8)
    // A long lease: the predecessor's entries must go because its successor says so, not by expiry.
    const slow = { leaseMs: 60_000, heartbeatMs: 20_000 }
    const fixture = fileURLToPath(new URL('./fixtures/redis-replica.ts', import.meta.url))
    const child = spawn(process.execPath, ['--import=tsx', fixture, url, `${prefix}${space}:`, 'same-id', String(slow.leaseMs), String(slow.heartbeatMs), 'room-r', 'user-r', 'Ray'], { stdio: ['ignore', 'pipe', 'inherit'] })
    t.teardown(() => { child.kill('SIGKILL') })
    let output = ''
    child.stdout.on('data', (chunk: Buffer) => { output += chunk.toString() })
    t.ok(await within(15_000, () => output.includes('ready')), 'the predecessor registered its user')
    child.kill('SIGKILL')
    await once(child, 'exit')

    const successor = await open(t, { ...slow, space, replicaId: 'same-id' })
    const announced = await new Promise<ExpiredPresence[]>((resolve) => { successor.onPresenceExpired(resolve) })
    t.strictSame(announced, [{ room: 'room-r', userId: 'user-r', name: 'Ray' }], 'the successor announces the leave')
    t.strictSame(await successor.presence.list('room-r'), [], 'and presence is clean at once')
    t.equal(await successor.acquireConnection('user-r', 'new', 1), true, 'the dead connection no longer counts')
  })

  t.test('a clean close removes presence at once and announces no expiry', async (t) => {
    const space = randomUUID().slice(0, 8)
    const a = await open(t, { ...fast, space })
    const b = await open(t, { ...fast, space })
    let expiries = 0
    b.onPresenceExpired(() => { expiries++ })
    t.equal(await a.acquireConnection('u', 'c', 1), true)
    await a.presence.add('room', { userId: 'u', connectionId: 'c', name: 'U', state: 'idle', since: 1 })
    await a.close()
    t.strictSame(await b.presence.list('room'), [], 'gone as soon as close resolves')
    t.equal(await b.acquireConnection('u', 'c2', 1), true, 'its connection slot is free')
    await sleep(fast.leaseMs + 2 * fast.heartbeatMs)
    t.equal(expiries, 0)
  })

  t.test('after Redis lost its data, each replica writes its registrations back', async (t) => {
    const space = randomUUID().slice(0, 8)
    const a = await open(t, { ...fast, space })
    const b = await open(t, { ...fast, space })
    t.equal(await a.acquireConnection('u', 'c1', 1), true)
    await a.presence.add('room', { userId: 'u', connectionId: 'c1', name: 'U', state: 'idle', since: 5 })
    await a.presence.setState('u', 'busy')
    // A restart without persistence, confined to this test's keys: the Redis is shared.
    const keys = await admin.keys(`${prefix}${space}:*`)
    t.ok(keys.length > 0)
    await admin.del(...keys)
    t.strictSame(await b.presence.list('room'), [], 'lost')

    const back = await within(3 * fast.heartbeatMs + 500, async () => (await b.presence.list('room')).length === 1)
    t.ok(back, 'presence is back within a heartbeat or so')
    t.strictSame(await b.presence.list('room'), [{ userId: 'u', name: 'U', since: 5, state: 'busy' }], 'with its since and state')
    t.equal(await b.acquireConnection('u', 'c2', 1), false, 'the connection counts against the cap again')
    t.equal((await b.presence.remove('room', 'u', 'c1')).lastForUser, true, 'and can be removed as before')
  })

  t.test('a replica writes its registrations back as soon as its command connection is back', async (t) => {
    const space = randomUUID().slice(0, 8)
    // A heartbeat far away: only the reconnect can bring the entry back within the test.
    const bus = await open(t, { space, replicaId: 'reconnects', heartbeatMs: 60_000, leaseMs: 120_000 })
    await bus.presence.add('room', { userId: 'u', connectionId: 'c', name: 'U', state: 'idle', since: 1 })
    await admin.del(...await admin.keys(`${prefix}${space}:*`))
    await admin.client('KILL', 'ID', await clientId(`${prefix}${space}:reconnects:cmd`))
    t.ok(await within(5000, async () => (await bus.presence.list('room')).length === 1), 'presence is back')
  })

  t.test('a lost subscriber connection resubscribes and fires onResync', async (t) => {
    const space = randomUUID().slice(0, 8)
    const bus = await open(t, { space, replicaId: 'resync' })
    let resyncs = 0
    bus.onResync(() => { resyncs++ })
    const got: string[] = []
    bus.subscribe('room', (p) => { got.push(p) })
    await bus.publish('room', 'before')
    t.ok(await within(2000, () => got.length === 1), 'delivered before the loss')
    t.equal(resyncs, 0, 'connecting the first time is no resync')

    await admin.client('KILL', 'ID', await clientId(`${prefix}${space}:resync:sub`))
    t.ok(await within(5000, () => resyncs === 1), 'onResync fired once the subscription was back')
    await bus.publish('room', 'after')
    t.ok(await within(2000, () => got.length === 2), 'delivered after the reconnect')
    t.strictSame(got, ['before', 'after'])
  })

  t.test('a bucket key held by something else is decided locally; the takes sent with it are not', async (t) => {
    const bus = await open(t, { space: 'clobbered' })
    await admin.set(`${prefix}clobbered:tb:odd`, 'not a bucket')
    await bus.take('fine', 1)
    const [odd, fine] = await Promise.all([bus.take('odd', 1), bus.take('fine', 1)])
    t.equal(odd?.ok, true, 'the clobbered key gets a fresh local bucket')
    t.equal(fine?.ok, false, 'the other take of the same call is still decided by Redis (its one token is spent)')
    t.equal(await admin.get(`${prefix}clobbered:tb:odd`), 'not a bucket', 'the foreign value is left alone')
  })

  t.test('take falls back to local buckets while Redis is unreachable', async (t) => {
    const logger = recorder()
    const bus = new RedisBus({ url: 'redis://127.0.0.1:1', logger, commandTimeoutMs: 200 })
    t.teardown(async () => { await bus.close() })
    const decisions = [await bus.take('k', 2), await bus.take('k', 2), await bus.take('k', 2)]
    t.strictSame(decisions.map((d) => d.ok), [true, true, false], 'a burst of 2, then refused')
    t.ok((decisions[2]?.retryAfterMs ?? 0) > 0, 'with a retry delay')
    t.equal(logger.warns.length, 1, 'one warning for the outage, not one per call')
    await t.rejects(bus.ping(), 'not ready')
    await sleep(500) // ioredis retries after 50, 100, 150… ms: several failed attempts per connection
    t.strictSame(logger.errors.sort(), [
      'redis bus: command connection failed; reconnecting',
      'redis bus: subscriber connection failed; reconnecting'
    ], 'reconnect failures are logged once per connection and outage')
  })
})
