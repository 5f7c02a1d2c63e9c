import { execFileSync } from 'node:child_process'
import t, { type Test } from 'tap'
import type { Agent, Cluster } from '../src/index.ts'
import { agentOn, cluster, createRoom, range, roomHead, skip } from './helpers.ts'

/** Sends from every agent every `everyMs` until stopped. */
function traffic (agents: readonly Agent[], room: string, everyMs = 25): () => void {
  const timers = agents.map((a) => setInterval(() => { a.send(room, `${a.replica ?? '?'} ${Date.now()}`) }, everyMs))
  return () => { for (const timer of timers) clearInterval(timer) }
}

/**
 * The zero-loss check: every send acked, every ack a distinct seq, the room's head equal to the
 * number of sends, and every member holding exactly 1..head, in order, with no duplicate.
 * Receivers get `withinMs` after the last ack to catch up (the gap-fill bound).
 */
async function expectNoLoss (t: Test, c: Cluster, room: string, senders: readonly Agent[], members: readonly Agent[], withinMs: number): Promise<void> {
  for (const s of senders) await s.settle(30_000)
  const sent = senders.reduce((n, s) => n + s.acks.size, 0)
  const seqs = senders.flatMap((s) => [...s.acks.values()].filter((a) => a.room === room).map((a) => a.seq)).sort((p, q) => p - q)
  const head = await roomHead(c, room)
  t.ok(sent > 0, `${sent} messages sent and acked`)
  t.strictSame(seqs, range(1, head), 'the acks are exactly 1..head: nothing stored unacked or twice')
  for (const m of members) {
    await m.waitFor(() => m.received(room).length >= head, withinMs, `${m.replica} caught up`).catch(() => {})
    const got = m.received(room)
    t.equal(got.length, head, `member (now on ${m.replica}) got all ${head}`)
    t.strictSame(got, range(1, head), 'in order, nothing missing')
    t.equal(m.duplicates, 0, 'no duplicate')
    t.equal(m.gaps, 0, 'no gap')
  }
}

t.test('faults on a three-replica cluster behind nginx', { skip }, async (t) => {
  const c = await cluster(t, { replicas: 3 })

  t.test('kill -9 of the receiver\'s replica: it reconnects through nginx and resumes, nothing missing or doubled', async (t) => {
    await createRoom(c, 'crash')
    const receiver = await agentOn(t, c, 'r1', 'receiver')
    const senders = [await agentOn(t, c, 'r2', 'k-s2'), await agentOn(t, c, 'r3', 'k-s3')]
    for (const a of [receiver, ...senders]) await a.join('crash')
    const stop = traffic(senders, 'crash')
    await new Promise((resolve) => setTimeout(resolve, 800))
    const r1 = c.replicas[0]
    if (r1 === undefined) throw new Error('no r1')
    await r1.kill('SIGKILL')
    await receiver.waitFor(() => receiver.connected && receiver.replica !== 'r1', 10_000, 'receiver back through nginx')
    t.not(receiver.replica, 'r1', `resumed on ${receiver.replica}`)
    await new Promise((resolve) => setTimeout(resolve, 800))
    await r1.start()
    stop()
    await expectNoLoss(t, c, 'crash', senders, [receiver, ...senders], 5000)
  })

  t.test('rolling SIGTERM of every replica in turn while traffic flows: zero loss', async (t) => {
    await createRoom(c, 'rolling')
    const agents = [
      await agentOn(t, c, 'r1', 'roll-1a'), await agentOn(t, c, 'r2', 'roll-2a'), await agentOn(t, c, 'r3', 'roll-3a'),
      await agentOn(t, c, 'r1', 'roll-1b'), await agentOn(t, c, 'r2', 'roll-2b'), await agentOn(t, c, 'r3', 'roll-3b')
    ]
    for (const a of agents) await a.join('rolling')
    const stop = traffic(agents, 'rolling', 40)
    for (const replica of c.replicas) {
      await new Promise((resolve) => setTimeout(resolve, 500))
      await replica.stop() // SIGTERM: drain with 1012, flush, exit
      await replica.start()
    }
    await new Promise((resolve) => setTimeout(resolve, 500))
    stop()
    const drained = agents.reduce((n, a) => n + a.closeCodes.filter((code) => code === 1012).length, 0)
    t.ok(drained >= agents.length, `sockets were drained with 1012 (${drained} times)`)
    await expectNoLoss(t, c, 'rolling', agents, agents, 5000)
  })

  t.test('Redis restart mid-traffic: zero loss, receivers backfilled within 5 s', async (t) => {
    await createRoom(c, 'redis-restart')
    const agents = [await agentOn(t, c, 'r1', 'rr-1'), await agentOn(t, c, 'r2', 'rr-2'), await agentOn(t, c, 'r3', 'rr-3')]
    const listeners = [await agentOn(t, c, 'r1', 'rr-l1'), await agentOn(t, c, 'r2', 'rr-l2'), await agentOn(t, c, 'r3', 'rr-l3')]
    for (const a of [...agents, ...listeners]) await a.join('redis-restart')
    const stop = traffic(agents, 'redis-restart')
    await new Promise((resolve) => setTimeout(resolve, 800))
    await c.redis.restart()
    await new Promise((resolve) => setTimeout(resolve, 1500))
    stop()
    await expectNoLoss(t, c, 'redis-restart', agents, [...agents, ...listeners], 5000)
    const metrics = await c.http('GET', '/metrics', { replica: 0 })
    t.match(metrics.text, /pan_bus_gaps_total\{event="detected"\}/, 'the gap metric is exported')
  })

  t.test('Redis down: a send is acked at once, not after the Redis command timeout, and reaches the other replicas once Redis is back', async (t) => {
    await createRoom(c, 'redis-down')
    const sender = await agentOn(t, c, 'r1', 'rd-sender')
    const listener = await agentOn(t, c, 'r2', 'rd-listener')
    for (const a of [sender, listener]) await a.join('redis-down')
    await c.redis.kill()
    try {
      const started = Date.now()
      const ack = await sender.waitForAck(sender.send('redis-down', 'while Redis is down'), 10_000)
      const took = Date.now() - started
      t.equal(ack.seq, 1, 'stored and acked')
      // The bus's command timeout is 2,000 ms: an ack held by the publish would take at least that.
      t.ok(took < 1000, `acked in ${took} ms with Redis down`)
      t.strictSame(sender.received('redis-down'), [1], 'the sender\'s own replica delivered it at once')
    } finally {
      await c.redis.start()
    }
    await listener.waitFor(() => listener.received('redis-down').length === 1, 10_000, 'the other replica caught up')
    t.strictSame(listener.received('redis-down'), [1])
  })

  t.test('Redis cutting a slow subscriber (output buffer limit): the gaps are detected and filled, zero loss', async (t) => {
    const redisCli = (...args: string[]): string => execFileSync('redis-cli', ['-p', String(c.redis.port), ...args]).toString()
    // A pub/sub output buffer over 32 kB (16 kB for 1 s) gets the subscriber disconnected.
    redisCli('CONFIG', 'SET', 'client-output-buffer-limit', 'pubsub 32kb 16kb 1')
    t.teardown(() => { redisCli('CONFIG', 'SET', 'client-output-buffer-limit', 'pubsub 32mb 8mb 60') })
    await createRoom(c, 'slow-sub')
    const sender = await agentOn(t, c, 'r1', 'bulky')
    const receivers = [await agentOn(t, c, 'r2', 'slow-2'), await agentOn(t, c, 'r3', 'slow-3')]
    for (const a of [sender, ...receivers]) await a.join('slow-sub')
    const gapsOn = async (replica: number): Promise<number> => {
      const text = (await c.http('GET', '/metrics', { replica })).text
      return Number(/^pan_bus_gaps_total\{event="detected"\} (\d+)/m.exec(text)?.[1] ?? 0)
    }
    const before = (await gapsOn(1)) + (await gapsOn(2))
    // Bursts of 3 kB messages: more than the limit queues up for the other replicas' subscribers.
    const bulk = 'x'.repeat(3000)
    for (let i = 0; i < 400; i++) {
      sender.send('slow-sub', `${bulk} ${i}`)
      if (i % 50 === 49) await new Promise((resolve) => setTimeout(resolve, 5))
    }
    await expectNoLoss(t, c, 'slow-sub', [sender], [sender, ...receivers], 5000)
    const after = (await gapsOn(1)) + (await gapsOn(2))
    t.ok(after > before, `the cut subscribers' gaps were detected (${after - before}) and filled`)
  })
})
