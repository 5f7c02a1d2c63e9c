import t from 'tap'
import { MemoryBus, type Bus, type ReplicaReport } from '../src/index.ts'
import { busConformance } from './conformance.ts'

t.test('MemoryBus', async (t) => {
  busConformance(t, async (replicaId) => new MemoryBus({ replicaId }))
})

/**
 * Separate MemoryBus instances share nothing, so the suite's cluster tests cannot run on them.
 * To keep those tests honest until a RedisBus runs them, they run here on replicas that share one
 * MemoryBus for everything but their id, their reports and their closing.
 */
t.test('conformance suite, cluster section, on replicas sharing one MemoryBus', async (t) => {
  const shared = new MemoryBus()
  const reports = new Map<string, ReplicaReport>()
  let made = 0
  t.teardown(async () => { await shared.close() })
  const replica = async (replicaId = `replica-${++made}`): Promise<Bus> => ({
    replicaId,
    presence: shared.presence,
    publish: async (room, payload) => { await shared.publish(room, payload) },
    publishMany: async (entries) => { await shared.publishMany(entries) },
    subscribe: (room, handler) => shared.subscribe(room, handler),
    subscribed: async (room) => { await shared.subscribed(room) },
    control: async (event) => { await shared.control(event) },
    onControl: (handler) => shared.onControl(handler),
    acquireConnection: async (userId, connectionId, max) => await shared.acquireConnection(userId, connectionId, max),
    releaseConnection: async (userId, connectionId) => { await shared.releaseConnection(userId, connectionId) },
    take: async (key, perSec) => await shared.take(key, perSec),
    report: async (report) => { reports.set(report.id, report) },
    replicas: async () => [...reports.values()],
    onResync: (handler) => shared.onResync(handler),
    onPresenceExpired: (handler) => shared.onPresenceExpired(handler),
    ping: async () => {},
    close: async () => {}
  })
  busConformance(t, replica, { cluster: true })
})

t.test('MemoryBus without a replica id makes one up', async (t) => {
  const a = new MemoryBus()
  const b = new MemoryBus()
  t.teardown(async () => { await a.close(); await b.close() })
  t.match(a.replicaId, /^[0-9a-f]{8}$/)
  t.not(a.replicaId, b.replicaId)
})

t.test('separate MemoryBus instances share nothing', async (t) => {
  const a = new MemoryBus({ replicaId: 'a' })
  const b = new MemoryBus({ replicaId: 'b' })
  t.teardown(async () => { await a.close(); await b.close() })
  const got: string[] = []
  b.subscribe('room', (p) => { got.push(p) })
  await a.publish('room', 'x')
  t.strictSame(got, [])
  await a.report({ id: 'a', connections: 0, messagesPerSec: 0, startedAt: 0 })
  t.strictSame(await b.replicas(), [])
})

t.test('MemoryBus delivers synchronously, before publish resolves', async (t) => {
  const bus = new MemoryBus()
  t.teardown(async () => { await bus.close() })
  const got: string[] = []
  bus.subscribe('room', (p) => { got.push(p) })
  const published = bus.publish('room', 'now')
  t.strictSame(got, ['now'])
  await published
})
