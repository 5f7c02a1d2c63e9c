import t from 'tap'
import type { Message } from '@pan/protocol'
import { RoomLog, type SeqRange } from '../src/room-log.ts'

const msg = (seq: number): Message => ({ room: 'r', seq, id: `m${seq}`, from: { id: 'u', name: 'u' }, text: `t${seq}`, ts: seq })
const tick = async (): Promise<void> => { await new Promise((resolve) => setTimeout(resolve, 0)) }

function harness (since: number | undefined, stored: (after: number, before: number) => Message[]) {
  const delivered: number[] = []
  const truncated: SeqRange[] = []
  const fetches: Array<[number, number]> = []
  const log = new RoomLog(since, {
    deliver: (m) => { delivered.push(m.seq) },
    truncated: (r) => { truncated.push(r) },
    fetchRange: async (after, before) => { fetches.push([after, before]); return stored(after, before) },
    fillFailed: () => {}
  })
  return { log, delivered, truncated, fetches }
}

const range = (after: number, before: number): Message[] => Array.from({ length: Math.max(0, before - after - 1) }, (_, i) => msg(after + 1 + i))

t.test('delivers in order, drops duplicates, starts after the joined seq without since', async (t) => {
  const h = harness(undefined, range)
  h.log.message(msg(5)) // before joined: held
  h.log.joined(4)
  h.log.message(msg(5))
  h.log.message(msg(6))
  h.log.message(msg(3))
  t.strictSame(h.delivered, [5, 6])
  t.equal(h.log.duplicates, 2)
  t.equal(h.log.last, 6)
})

t.test('a gap is filled from history before anything after it is delivered', async (t) => {
  const h = harness(0, range)
  h.log.joined(0)
  h.log.message(msg(1))
  h.log.message(msg(4))
  h.log.message(msg(5))
  t.strictSame(h.delivered, [1], 'held while filling')
  await tick()
  t.strictSame(h.fetches, [[1, 4]])
  t.strictSame(h.delivered, [1, 2, 3, 4, 5])
  t.strictSame(h.truncated, [])
})

t.test('what history cannot give is reported as truncated, then delivery goes on', async (t) => {
  const h = harness(0, (after, before) => range(after, before).filter((m) => m.seq !== 2 && m.seq !== 3))
  h.log.joined(0)
  h.log.message(msg(1))
  h.log.message(msg(6))
  await tick()
  t.strictSame(h.delivered, [1, 4, 5, 6])
  t.strictSame(h.truncated, [{ from: 2, to: 3 }])
})

t.test('a truncated range in joined is reported and skipped', async (t) => {
  const h = harness(2, range)
  h.log.joined(10, { from: 3, to: 7 })
  h.log.message(msg(8))
  t.strictSame(h.truncated, [{ from: 3, to: 7 }])
  t.strictSame(h.delivered, [8])
})

t.test('no history read while a rejoin is on its way: its replay fills the hole', async (t) => {
  const h = harness(3, range)
  h.log.rejoining()
  h.log.message(msg(6))
  await tick()
  t.strictSame(h.fetches, [])
  h.log.joined(6)
  h.log.message(msg(4))
  h.log.message(msg(5))
  t.strictSame(h.delivered, [4, 5, 6])
  t.strictSame(h.fetches, [[3, 6]], 'the fill started at joined; its result finds nothing left to deliver')
  await tick()
  t.strictSame(h.delivered, [4, 5, 6], 'nothing twice')
})

t.test('a failed fill is retried', async (t) => {
  let calls = 0
  const delivered: number[] = []
  const failures: unknown[] = []
  const log = new RoomLog(0, {
    deliver: (m) => { delivered.push(m.seq) },
    truncated: () => {},
    fetchRange: async (after, before) => {
      if (++calls === 1) throw new Error('unavailable')
      return range(after, before)
    },
    fillFailed: (err) => { failures.push(err) }
  })
  log.joined(0)
  log.message(msg(3))
  const deadline = Date.now() + 5000
  while (delivered.length < 3 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20))
  t.strictSame(delivered, [1, 2, 3])
  t.equal(failures.length, 1)
  log.close()
})
