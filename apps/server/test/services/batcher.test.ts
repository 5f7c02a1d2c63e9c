import t from 'tap'
import { insertRoom, type CommitOutcome, type Database, type NewMessage } from '@pan/db'
import { createTestDatabase, testDatabaseKinds } from '@pan/db/testing'
import { WriteBatcher, laneOf, type BatcherOptions } from '../../src/services/batcher.ts'

/** A promise and its resolver: lets a test hold `onCommitted` open. */
function gate (): { promise: Promise<void>, open: () => void } {
  let open = (): void => {}
  const promise = new Promise<void>((resolve) => { open = resolve })
  return { promise, open }
}

/** Room ids that land on distinct lanes of `lanes`, `perLane` per lane. */
function roomsByLane (lanes: number, perLane: number): string[][] {
  const out: string[][] = Array.from({ length: lanes }, () => [])
  for (let i = 0; out.some((l) => l.length < perLane); i++) {
    const lane = out[laneOf(`room-${i}`, lanes)] as string[]
    if (lane.length < perLane) lane.push(`room-${i}`)
  }
  return out
}

const msg = (roomId: string, clientId: string, text = clientId): NewMessage => ({ roomId, clientId, senderId: 'ann', senderName: 'Ann', text })
const seqOf = (o: CommitOutcome): number | string => o.ok ? o.message.seq : o.reason

for (const kind of testDatabaseKinds()) {
  t.test(kind, async (t) => {
    const testDb = await createTestDatabase(kind)
    const handle = await testDb.open()
    t.teardown(async () => { await handle.close(); await testDb.destroy() })
    const db: Database = handle.db
    const [laneA, laneB] = roomsByLane(2, 2) as [string[], string[]]
    for (const id of [...laneA, ...laneB]) await insertRoom(db, { id, name: id, visibility: 'public', config: {}, metadata: {}, createdBy: null })
    const [a1, a2] = laneA as [string, string]
    const [b1] = laneB as [string]

    const make = (overrides: Partial<BatcherOptions> & Pick<BatcherOptions, 'onCommitted'>): WriteBatcher =>
      new WriteBatcher(db, { maxWaitMs: 1, maxBatch: 100, lanes: 2, onError: () => {}, ...overrides })

    t.test('a publish held open holds neither the acks nor later hand-offs; a room keeps its order', async (t) => {
      const held = gate()
      const calls: Array<Array<{ room: string, seq: number }>> = []
      const batcher = make({
        onCommitted: async (rows) => {
          calls.push(rows.map((r) => ({ room: r.roomId, seq: r.seq })))
          if (rows.some((r) => r.roomId === a1 && r.seq === 1)) await held.promise
        }
      })
      const handedOff = (room: string): number[] => calls.flat().filter((r) => r.room === room).map((r) => r.seq)
      const first = await batcher.submit(msg(a1, 'x1'))
      t.equal(seqOf(first), 1, 'acked while its publish is held')
      const later = await Promise.all([batcher.submit(msg(a1, 'x2')), batcher.submit(msg(a2, 'y1')), batcher.submit(msg(a1, 'x3')), batcher.submit(msg(b1, 'z1'))])
      t.strictSame(later.map(seqOf), [2, 1, 3, 1], 'later sends on both lanes commit and ack meanwhile')
      t.strictSame(handedOff(a1), [1, 2, 3], 'one room\'s rows are handed off in seq order')
      t.strictSame(handedOff(a2), [1])
      let flushed = false
      const flushing = batcher.flush().then(() => { flushed = true })
      await new Promise((resolve) => setTimeout(resolve, 20))
      t.notOk(flushed, 'flush waits for the held publish')
      held.open()
      await flushing
    })

    t.test('an ack resolves after its rows are delivered locally, in the same turn, not after the publish', async (t) => {
      const held = gate()
      const events: string[] = []
      const batcher = make({
        onCommitted: (rows) => {
          events.push(`delivered ${rows.length}`)
          setImmediate(() => { events.push('next turn') })
          return held.promise
        }
      })
      await batcher.submit(msg(b1, 'h1')).then(() => { events.push('acked') })
      t.strictSame(events, ['delivered 1', 'acked'], 'acked after the local delivery, before the turn ended, with the publish still open')
      held.open()
      await batcher.flush()
    })

    t.test('a failed hand-off is reported and the messages are acked all the same', async (t) => {
      const errors: unknown[] = []
      const batcher = make({ onCommitted: async () => { throw new Error('bus down') }, onError: (err) => { errors.push(err) } })
      t.equal(seqOf(await batcher.submit(msg(b1, 'f1'))), 3)
      await batcher.flush()
      t.match(errors, [{ message: 'bus down' }])
    })

    t.test('one bad message fails alone', async (t) => {
      const batcher = make({ onCommitted: async () => {} })
      const outcomes = await Promise.allSettled([
        batcher.submit(msg(a2, 'ok1')),
        batcher.submit(msg(a2, 'bad', 'nul \u0000 byte')),
        batcher.submit(msg(a2, 'ok2'))
      ])
      t.strictSame(outcomes.map((o) => o.status === 'fulfilled' ? seqOf(o.value) : 'rejected'), [2, 'rejected', 3])
      t.match(outcomes[1], { status: 'rejected', reason: { panCode: 'PAN_ERR_UNAVAILABLE' } })
    })
  })
}
