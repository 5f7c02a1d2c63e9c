import t from 'tap'
import { agentOn, cluster, createRoom, range, skip } from './helpers.ts'

/** Fan-out between replicas, through nginx with TLS: one room, members on every replica. */
t.test('three replicas behind nginx', { skip }, async (t) => {
  const c = await cluster(t, { replicas: 3 })

  t.test('a message sent on one replica reaches members on the others, once', async (t) => {
    await createRoom(c, 'across')
    const [a, b, d] = [await agentOn(t, c, 'r1', 'ann'), await agentOn(t, c, 'r2', 'ben'), await agentOn(t, c, 'r3', 'dee')]
    for (const x of [a, b, d]) await x.join('across')
    const id = a.send('across', 'from r1')
    t.match(await a.waitForAck(id), { seq: 1 })
    for (const x of [b, d]) await x.waitFor(() => x.received('across').length === 1, 5000, `${x.replica} got it`)
    const reply = b.send('across', 'from r2')
    t.match(await b.waitForAck(reply), { seq: 2 })
    for (const x of [a, b, d]) {
      await x.waitFor(() => x.received('across').length === 2, 5000, `${x.replica} got both`)
      t.strictSame(x.received('across'), [1, 2], `member on ${x.replica}`)
      t.equal(x.duplicates, 0)
    }
  })

  t.test('three concurrent senders on three replicas: every member sees seq 1..N in order', async (t) => {
    await createRoom(c, 'chorus')
    const senders = [await agentOn(t, c, 'r1', 's1'), await agentOn(t, c, 'r2', 's2'), await agentOn(t, c, 'r3', 's3')]
    const listeners = [await agentOn(t, c, 'r1', 'l1'), await agentOn(t, c, 'r2', 'l2'), await agentOn(t, c, 'r3', 'l3')]
    for (const x of [...senders, ...listeners]) await x.join('chorus')
    const perSender = 60
    // Bursts of ten per sender at once, interleaved across replicas, so commits race.
    for (let burst = 0; burst < perSender / 10; burst++) {
      for (const s of senders) for (let i = 0; i < 10; i++) s.send('chorus', `${s.replica}:${burst}.${i}`)
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
    for (const s of senders) await s.settle(20_000)
    const total = perSender * senders.length
    for (const x of [...senders, ...listeners]) {
      await x.waitFor(() => x.received('chorus').length >= total, 15_000, `${x.replica} got ${total}`)
      t.strictSame(x.received('chorus'), range(1, total), `member on ${x.replica}: 1..${total} in order`)
      t.equal(x.duplicates + x.gaps, 0)
    }
    const seqs = senders.flatMap((s) => [...s.acks.values()].map((ack) => ack.seq)).sort((p, q) => p - q)
    t.strictSame(seqs, range(1, total), 'every ack has its own seq')
  })
})
