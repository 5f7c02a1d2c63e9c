import t from 'tap'
import { commitMessages, insertRoom, readHistory, readHistoryPage, readRange, firstStoredSeqAfter, closeRoom, toMessage, type HistoryRange, type NewMessage } from '../src/index.ts'
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

  t.test('history pages in the wire shape match the stored rows', async (t) => {
    await insertRoom(db, { id: 'wire', name: 'Wire', visibility: 'public', config: {}, metadata: {}, createdBy: null })
    const batch: NewMessage[] = Array.from({ length: 12 }, (_, i) => ({
      roomId: 'wire',
      clientId: `w${i}`,
      senderId: i % 3 === 0 ? 'carol' : 'dave',
      senderName: i % 3 === 0 ? 'Carol' : 'Dave',
      ...(i % 2 === 0 ? { text: `text ${i}` } : {}),
      ...(i % 4 !== 0 ? { data: { i, nested: { ok: true } } } : {}),
      ...(i === 5 ? { streamStatus: 'interrupted' as const } : {})
    }))
    const committed = await commitMessages(db, batch)
    // One transaction shares one now(): later commits, one each, bring timestamps with other sub-ms parts.
    for (let i = 0; i < 5; i++) committed.push(...await commitMessages(db, [{ roomId: 'wire', clientId: `later${i}`, senderId: 'dave', senderName: 'Dave', text: 'later' }]))
    const ranges: HistoryRange[] = [
      { limit: 4, direction: 'desc' },
      { limit: 50, direction: 'desc' },
      { after: 3, limit: 4, direction: 'asc' },
      { after: 3, before: 9, limit: 50, direction: 'asc' },
      { before: 9, limit: 3, direction: 'desc' },
      { before: 1, limit: 3, direction: 'desc' },
      { hiddenUpTo: 10, limit: 50, direction: 'desc' },
      { after: 2, hiddenUpTo: 6, limit: 50, direction: 'asc' },
      { from: 'carol', limit: 2, direction: 'desc' },
      { from: 'carol', after: 1, limit: 50, direction: 'asc' },
      { from: 'nobody', limit: 50, direction: 'desc' }
    ]
    for (const range of ranges) {
      const expected = (await readHistory(db, 'wire', range)).map(toMessage)
      t.strictSame(await readHistoryPage(db, 'wire', range), expected, JSON.stringify(range))
    }
    const page = await readHistoryPage(db, 'wire', { after: 0, limit: 50, direction: 'asc' })
    t.strictSame(page.map((m) => m.ts), committed.map((o) => o.ok ? o.message.createdAt.getTime() : -1), 'ts is the ack\'s epoch ms')
    t.strictSame(Object.keys(page[0] ?? {}).sort(), ['from', 'id', 'room', 'seq', 'text', 'ts'], 'absent text, data and stream are left out, not null')
    t.strictSame(page[5]?.stream, { status: 'interrupted' })
  })

  t.test('a closed room stores nothing', async (t) => {
    await closeRoom(db, 'r1')
    const [out] = await commitMessages(db, [msg('r1', 'late')])
    t.strictSame(out, { ok: false, reason: 'room_closed' })
  })
})
