import t from 'tap'
import { commitMessages, insertRoom, readHistory, readRange, firstStoredSeqAfter, closeRoom, type NewMessage } from '../src/index.ts'
import { eachDatabase, openTestDatabase } from './helpers.ts'

eachDatabase(t, async (t, kind) => {
  const { db } = await openTestDatabase(t, kind)
  await insertRoom(db, { id: 'r1', name: 'R1', visibility: 'public', config: {}, metadata: {}, createdBy: null })
  await insertRoom(db, { id: 'r2', name: 'R2', visibility: 'public', config: {}, metadata: {}, createdBy: null })

  const msg = (roomId: string, clientId: string, senderId = 'alice'): NewMessage => ({ roomId, clientId, senderId, senderName: senderId, text: clientId })

  t.test('a batch allocates gapless seqs per room and reports duplicates', async (t) => {
    const out = await commitMessages(db, [msg('r1', 'a'), msg('r2', 'b'), msg('r1', 'c'), msg('r1', 'a'), msg('nope', 'x')])
    t.strictSame(out.map((o) => o.ok ? [o.message.roomId, o.message.seq, o.duplicate] : o.reason), [
      ['r1', 1, false], ['r2', 1, false], ['r1', 2, false], ['r1', 1, true], 'room_not_found'
    ])
    const again = await commitMessages(db, [msg('r1', 'c'), msg('r1', 'd')])
    t.strictSame(again.map((o) => o.ok && [o.message.seq, o.duplicate]), [[2, true], [3, false]])
    const ts = out[0]?.ok === true ? out[0].message.createdAt.getTime() : 0
    const dup = out[3]?.ok === true ? out[3].message.createdAt.getTime() : -1
    t.equal(dup, ts, 'the duplicate carries the original timestamp')
  })

  t.test('concurrent batches never leave a gap or reuse a seq', async (t) => {
    const batches = Array.from({ length: 20 }, (_, b) => Array.from({ length: 10 }, (_, i) => msg('r2', `c${b}-${i}`, `u${b % 4}`)))
    await Promise.all(batches.map(async (batch) => await commitMessages(db, batch)))
    const rows = await readRange(db, 'r2', 0, 1000, 1000)
    t.strictSame(rows.map((r) => r.seq), Array.from({ length: 201 }, (_, i) => i + 1))
  })

  t.test('history pages are ascending in both directions', async (t) => {
    const latest = await readHistory(db, 'r2', { limit: 3, direction: 'desc' })
    t.strictSame(latest.map((r) => r.seq), [199, 200, 201])
    const first = await readHistory(db, 'r2', { after: 0, limit: 3, direction: 'asc' })
    t.strictSame(first.map((r) => r.seq), [1, 2, 3])
    const hidden = await readHistory(db, 'r2', { hiddenUpTo: 199, limit: 10, direction: 'asc' })
    t.strictSame(hidden.map((r) => r.seq), [200, 201])
    t.equal(await firstStoredSeqAfter(db, 'r2', 5), 6)
    t.equal(await firstStoredSeqAfter(db, 'r2', 201), null)
  })

  t.test('a closed room stores nothing', async (t) => {
    await closeRoom(db, 'r1')
    const [out] = await commitMessages(db, [msg('r1', 'late')])
    t.strictSame(out, { ok: false, reason: 'room_closed' })
  })
})
