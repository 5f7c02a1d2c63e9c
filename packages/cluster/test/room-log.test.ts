import t from 'tap'
import { RoomLog } from '../src/room-log.ts'

t.test('a first join without since starts at the room seq', async (t) => {
  const log = new RoomLog()
  log.joined(5)
  t.equal(log.message(6), true)
  t.equal(log.message(7), true)
  t.strictSame(log.seqs, [6, 7])
  t.equal(log.gaps, 0)
  t.equal(log.duplicates, 0)
})

t.test('replayed seqs at or below the last are duplicates; jumps are gaps', async (t) => {
  const log = new RoomLog(0)
  log.joined(3)
  for (const seq of [1, 2, 2, 1, 3, 5]) log.message(seq)
  t.strictSame(log.seqs, [1, 2, 3, 5])
  t.equal(log.duplicates, 2)
  t.equal(log.gaps, 1)
})

t.test('a truncated range is explicit loss, not a gap', async (t) => {
  const log = new RoomLog(2)
  log.joined(10, { from: 3, to: 6 })
  log.message(7)
  t.equal(log.gaps, 0)
  t.strictSame(log.truncated, [{ from: 3, to: 6 }])
})
