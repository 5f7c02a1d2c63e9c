import t from 'tap'
import { closeRoom, commitMessages, findRoom, insertRoom, readRange, type CommitOutcome, type NewMessage } from '../src/index.ts'
import { eachDatabase, openTestDatabase } from './helpers.ts'

const seqs = (out: CommitOutcome[]): unknown[] => out.map((o) => o.ok ? [o.message.seq, o.duplicate] : o.reason)

eachDatabase(t, async (t, kind) => {
  const { db } = await openTestDatabase(t, kind)
  for (const id of ['a', 'b', 'c', 'd', 'e']) {
    await insertRoom(db, { id, name: id, visibility: 'public', config: {}, metadata: {}, createdBy: null })
  }
  const msg = (roomId: string, clientId: string, extra: Partial<NewMessage> = {}): NewMessage =>
    ({ roomId, clientId, senderId: 'ann', senderName: 'Ann', text: clientId, ...extra })

  t.test('re-sends among new messages: the new ones stay gapless, the re-sends answer the original row', async (t) => {
    const first = await commitMessages(db, [msg('a', 'm1', { data: { n: 1 } }), msg('a', 'm2')])
    t.strictSame(seqs(first), [[1, false], [2, false]])
    const out = await commitMessages(db, [msg('a', 'm3'), msg('a', 'm1', { text: 'changed' }), msg('a', 'm4'), msg('a', 'm1'), msg('b', 'm1')])
    t.strictSame(seqs(out), [[3, false], [1, true], [4, false], [1, true], [1, false]])
    t.match(out[1], { ok: true, message: { text: 'm1', data: { n: 1 }, senderName: 'Ann' } }, 'the stored content, not the re-sent one')
    const ts = first[0]?.ok === true ? first[0].message.createdAt.getTime() : 0
    t.equal(out[1]?.ok === true && out[1].message.createdAt.getTime(), ts, 'and the original timestamp')
    t.strictSame((await readRange(db, 'a', 0, 100, 100)).map((r) => r.clientId), ['m1', 'm2', 'm3', 'm4'])
    t.match(await findRoom(db, 'a'), { lastSeq: 4 })
  })

  t.test('what the statement returns is what is stored', async (t) => {
    const odd = ['q"uote', 'back\\slash', '{brace,comma}', 'NULL', '', 'é ☃ 🎉', 'new\nline']
    const out = await commitMessages(db, odd.map((text, i) => msg('c', `o${i}`, {
      text,
      senderName: text,
      data: { text, nested: [1, null, { deep: true }] },
      streamStatus: i % 2 === 0 ? 'complete' : undefined
    })))
    const stored = await readRange(db, 'c', 0, 100, 100)
    t.strictSame(stored.map((r) => [r.seq, r.text, r.senderName, r.data, r.streamStatus]), odd.map((text, i) =>
      [i + 1, text, text, { text, nested: [1, null, { deep: true }] }, i % 2 === 0 ? 'complete' : null]))
    t.strictSame(out.map((o) => o.ok && { ...o.message, data: o.message.data }), stored.map((r) => ({ ...r })), 'the outcomes carry the stored rows')
  })

  t.test('a re-send to a room closed since answers the original', async (t) => {
    await commitMessages(db, [msg('d', 'k1')])
    await closeRoom(db, 'd')
    t.strictSame(seqs(await commitMessages(db, [msg('d', 'k1'), msg('d', 'k2')])), [[1, true], 'room_closed'])
  })

  t.test('racing re-sends of the same ids store each once, with no gap', async (t) => {
    const batch = (b: number): NewMessage[] => Array.from({ length: 10 }, (_, i) => msg('e', `r${(b * 5 + i) % 30}`))
    const outs = await Promise.all(Array.from({ length: 12 }, async (_, b) => await commitMessages(db, batch(b))))
    const stored = await readRange(db, 'e', 0, 1000, 1000)
    t.strictSame(stored.map((r) => r.seq), Array.from({ length: 30 }, (_, i) => i + 1), 'thirty ids, seqs 1..30')
    const seqOf = new Map(stored.map((r) => [r.clientId, r.seq]))
    const fresh = outs.flat().filter((o) => o.ok && !o.duplicate).length
    t.equal(fresh, 30, 'each id reported new exactly once')
    t.ok(outs.flat().every((o) => o.ok && o.message.seq === seqOf.get(o.message.clientId)), 'every outcome names the stored seq')
    t.match(await findRoom(db, 'e'), { lastSeq: 30 })
  })
})
