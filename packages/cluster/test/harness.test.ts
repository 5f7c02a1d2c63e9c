import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import postgres from 'postgres'
import { defaultMigrationsFolder } from '@pan/db'
import { request } from '../src/http.ts'
import { sleep } from '../src/wait.ts'
import { agent, cluster, skip } from './helpers.ts'

t.test('a two-replica cluster behind nginx with TLS', { skip }, async (t) => {
  const c = await cluster(t, { replicas: 2 })

  t.test('nginx answers over TLS, verified with the cluster CA only', async (t) => {
    const ready = await c.http('GET', '/readyz')
    t.equal(ready.status, 200)
    t.match(ready.body, { status: 'ready' })
    await t.rejects(request({ method: 'GET', url: `${c.url}/readyz` }), { code: 'DEPTH_ZERO_SELF_SIGNED_CERT' }, 'without the CA, the certificate is refused')
  })

  t.test('an agent over wss gets hello, joins a room made over REST and sends', async (t) => {
    const created = await c.http('POST', '/v1/rooms', { as: 'admin', role: 'admin', body: { id: 'lobby', name: 'Lobby', visibility: 'public' } })
    t.equal(created.status, 201, 'room created')
    const a = await agent(t, { url: c.wsUrl, token: c.token('agent-a', 'agent', 'Agent A'), ca: c.ca })
    const hello = await a.connect()
    t.match(hello, { type: 'hello', user: { id: 'agent-a', role: 'agent' } })
    t.ok(['r1', 'r2'].includes(a.replica ?? ''), `hello names a replica (${a.replica})`)
    t.match(await a.join('lobby'), { type: 'joined', room: 'lobby', seq: 0 })
    const id = a.send('lobby', 'hello through nginx')
    t.match(await a.waitForAck(id), { room: 'lobby', seq: 1 })
    await a.waitFor(() => a.received('lobby').length === 1, 5000, 'own message')
    t.strictSame(a.received('lobby'), [1])
  })

  t.test('least_conn spreads two sockets over both replicas', async (t) => {
    const first = await agent(t, { url: c.wsUrl, token: c.token('spread-1'), ca: c.ca })
    const second = await agent(t, { url: c.wsUrl, token: c.token('spread-2'), ca: c.ca })
    await first.connect()
    await second.connect()
    t.not(first.replica, second.replica, `${first.replica} and ${second.replica}`)
  })

  t.test('a bad token closes with 4001 and the agent stops instead of reconnecting', async (t) => {
    const a = await agent(t, { url: c.wsUrl, token: 'not-a-jwt', ca: c.ca })
    await t.rejects(a.connect(), /stopped by close 4001/)
    t.equal(a.stoppedCode, 4001)
  })

  t.test('a replica killed with SIGKILL comes back on the same port', async (t) => {
    // The agent sits on r1 directly, so the kill certainly cuts it.
    const a = await agent(t, { url: c.replicaWsUrl(0), token: c.token('survivor'), ca: c.ca })
    await a.connect()
    await a.join('lobby')
    const replica = c.replicas[0]
    if (replica === undefined) throw new Error('no replica 0')
    const { port, pid } = replica
    await replica.kill()
    t.equal(replica.running, false, 'kill() resolves once the process has exited')
    t.equal((await c.http('GET', '/readyz')).status, 200, 'nginx routes around the dead replica')

    const id = a.send('lobby', 'written while r1 is down')
    await replica.start()
    t.equal(replica.port, port)
    t.not(replica.pid, pid, 'a new process')
    t.equal((await c.http('GET', '/readyz', { replica: 0 })).status, 200)
    t.equal((await c.http('GET', '/readyz')).status, 200)

    await a.waitForAck(id, 10_000)
    t.ok(a.connections >= 2, 'the agent reconnected')
    await a.waitFor(() => a.received('lobby').includes(a.acks.get(id)?.seq ?? -1), 5000, 'own message after the restart')
    t.equal(a.duplicates, 0)
    t.equal(a.gaps, 0)
  })

  t.test('an agent whose connection drops re-joins and re-sends: every message once, in order', async (t) => {
    t.equal((await c.http('POST', '/v1/rooms', { as: 'admin', role: 'admin', body: { id: 'drops', name: 'Drops', visibility: 'public' } })).status, 201)
    const a = await agent(t, { url: c.wsUrl, token: c.token('dropper'), ca: c.ca })
    await a.connect()
    await a.join('drops')
    // Five rounds: ten sends, then the socket is cut while some are in flight (their acks, and
    // maybe the writes, are lost), then the agent's own reconnect.
    for (let round = 0; round < 5; round++) {
      for (let i = 0; i < 10; i++) a.send('drops', `m${round}.${i}`)
      await sleep(round) // 0..4 ms: different amounts in flight at the cut
      a.drop()
      await a.waitFor(() => a.connected && a.connections === round + 2, 10_000, `reconnect ${round + 1}`)
    }
    await a.settle(20_000)
    await a.waitFor(() => a.received('drops').length === 50, 10_000, '50 messages')
    t.strictSame(a.received('drops'), Array.from({ length: 50 }, (_, i) => i + 1))
    t.equal(a.acked, 50)
    t.comment(`re-sent ${a.resent} writes after the cuts`)
    t.equal(a.duplicates, 0)
    t.equal(a.gaps, 0)
    t.equal(a.ackMismatches, 0)
    t.equal(a.failed.size, 0)
  })

  t.test('the private Redis restarts on its port', async (t) => {
    const { url, pid } = c.redis
    await c.redis.restart()
    t.equal(c.redis.url, url)
    t.ok(c.redis.running)
    t.not(c.redis.pid, pid)
  })
})

t.test('three replicas booting on an empty database migrate it exactly once', { skip }, async (t) => {
  const c = await cluster(t, { replicas: 3, nginx: false })
  const journal = JSON.parse(readFileSync(join(defaultMigrationsFolder, 'meta/_journal.json'), 'utf8')) as { entries: unknown[] }
  const sql = postgres(c.databaseUrl, { max: 1, onnotice: () => {} })
  t.teardown(async () => { await sql.end({ timeout: 5 }) })
  const rows = await sql<Array<{ count: number }>>`select count(*)::int as count from drizzle.__drizzle_migrations`
  t.equal(rows[0]?.count, journal.entries.length)
  t.ok(journal.entries.length > 0)
  for (let i = 0; i < 3; i++) t.equal((await c.http('GET', '/readyz', { replica: i })).status, 200, `r${i + 1} ready`)
})
