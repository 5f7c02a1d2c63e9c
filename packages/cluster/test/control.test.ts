import t, { type Test } from 'tap'
import type { Agent, Cluster } from '../src/index.ts'
import { agent, agentOn, cluster, createRoom, skip } from './helpers.ts'

/** Resolves with the ms from now until `agent` gets a frame matching `match` (or closes with `closeCode`). */
async function timeUntil (a: Agent, match: { frame?: (f: any) => boolean, closeCode?: number }, timeoutMs = 5000): Promise<number> {
  const start = Date.now()
  return await new Promise((resolve, reject) => {
    const timer = setTimeout(() => { cleanup(); reject(new Error('timed out')) }, timeoutMs)
    const onFrame = (f: unknown): void => { if (match.frame?.(f) === true) { cleanup(); resolve(Date.now() - start) } }
    const onClose = (code: number): void => { if (code === match.closeCode) { cleanup(); resolve(Date.now() - start) } }
    const cleanup = (): void => { clearTimeout(timer); a.off('frame', onFrame); a.off('close', onClose) }
    a.on('frame', onFrame)
    a.on('close', onClose)
  })
}

const admin = { as: 'admin', role: 'admin' } as const

/** Runs an admin REST call on one replica and measures until `victim`, on another, feels it. */
async function actsWithinASecond (t: Test, c: Cluster, victim: Agent, call: { method: string, path: string, body?: unknown }, felt: { frame?: (f: any) => boolean, closeCode?: number }): Promise<void> {
  const onReplica = c.replicas.findIndex((r) => r.id !== victim.replica)
  const waiting = timeUntil(victim, felt)
  const res = await c.http(call.method, call.path, { ...admin, replica: onReplica, ...(call.body === undefined ? {} : { body: call.body }) })
  t.ok(res.status < 300, `${call.method} ${call.path} on r${onReplica + 1}: ${res.status}`)
  const returnedAt = Date.now()
  const elapsed = await waiting
  const sinceReturn = Date.now() - returnedAt
  t.ok(sinceReturn < 1000, `felt on ${victim.replica} ${sinceReturn} ms after the REST call returned (${elapsed} ms after it was made)`)
}

t.test('the control plane across replicas', { skip }, async (t) => {
  const c = await cluster(t, { replicas: 3 })

  t.test('a room ban kicks the user on another replica within 1 s, and they cannot rejoin', async (t) => {
    await createRoom(c, 'ban-room')
    const victim = await agentOn(t, c, 'r2', 'victim')
    await victim.join('ban-room')
    await actsWithinASecond(t, c, victim, { method: 'POST', path: '/v1/bans', body: { user: 'victim', room: 'ban-room', reason: 'spam' } },
      { frame: (f) => f.type === 'kicked' && f.room === 'ban-room' })
    await t.rejects(victim.join('ban-room'), /banned/)
  })

  t.test('a network ban closes the user\'s sockets on every replica with 4003 within 1 s', async (t) => {
    const outlaw = await agentOn(t, c, 'r3', 'outlaw')
    const second = await agentOn(t, c, 'r1', 'outlaw')
    await actsWithinASecond(t, c, outlaw, { method: 'POST', path: '/v1/bans', body: { user: 'outlaw' } }, { closeCode: 4003 })
    const deadline = Date.now() + 1000
    while (second.stoppedCode === undefined && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10))
    t.equal(outlaw.stoppedCode, 4003, 'the socket on r3 closed with 4003')
    t.equal(second.stoppedCode, 4003, 'and the one on r1 too')
  })

  t.test('closing a room and revoking a membership kick members on other replicas within 1 s', async (t) => {
    await createRoom(c, 'closing')
    const member = await agentOn(t, c, 'r1', 'member-1')
    await member.join('closing')
    await actsWithinASecond(t, c, member, { method: 'DELETE', path: '/v1/rooms/closing' }, { frame: (f) => f.type === 'kicked' && f.room === 'closing' })

    const created = await c.http('POST', '/v1/rooms', { ...admin, body: { id: 'inner', name: 'Inner', visibility: 'private' } })
    t.equal(created.status, 201)
    t.equal((await c.http('PUT', '/v1/rooms/inner/members/insider', admin)).status < 300, true)
    const insider = await agentOn(t, c, 'r3', 'insider')
    await insider.join('inner')
    await actsWithinASecond(t, c, insider, { method: 'DELETE', path: '/v1/rooms/inner/members/insider' }, { frame: (f) => f.type === 'kicked' && f.room === 'inner' })
  })

  t.test('presence heals after kill -9: the dead replica\'s user leaves within 30 s', async (t) => {
    await createRoom(c, 'haunt')
    // The ghost does not come back: its reconnect waits longer than the test.
    const ghost = await agentOn(t, c, 'r1', 'ghost', { backoffMs: [120_000, 120_000] })
    const watcher = await agentOn(t, c, 'r2', 'watcher')
    await ghost.join('haunt')
    await watcher.join('haunt')
    const online = async (): Promise<string[]> => ((await c.http('GET', '/v1/rooms/haunt/presence', { ...admin, replica: 1 })).body as { items: Array<{ id: string }> }).items.map((m) => m.id)
    t.strictSame(await online(), ['ghost', 'watcher'])
    const left = timeUntil(watcher, { frame: (f) => f.type === 'presence.leave' && f.user?.id === 'ghost' }, 30_000)
    const r1 = c.replicas[0]
    if (r1 === undefined) throw new Error('no r1')
    await r1.kill('SIGKILL')
    const ms = await left
    t.ok(ms < 30_000, `presence.leave for the ghost after ${ms} ms`)
    t.strictSame(await online(), ['watcher'], 'and the REST presence agrees')
    await r1.start()
  })
})

t.test('limits shared by the replicas', { skip }, async (t) => {
  const c = await cluster(t, { replicas: 2, nginx: false, env: { PAN_REST_PER_MIN: '5', PAN_SEND_PER_SEC: '5' } })

  t.test('a user\'s REST budget is one budget, whichever replica serves the call', async (t) => {
    const statuses: number[] = []
    for (let i = 0; i < 7; i++) statuses.push((await c.http('GET', '/v1/rooms', { as: 'busy', role: 'viewer', replica: i % 2 })).status)
    t.strictSame(statuses, [200, 200, 200, 200, 200, 429, 429])
  })

  t.test('a user\'s WS send budget holds across two connections on two replicas', async (t) => {
    await createRoom(c, 'budget')
    const sockets = [
      await agent(t, { url: c.replicaWsUrl(0), token: c.token('greedy'), ca: c.ca }),
      await agent(t, { url: c.replicaWsUrl(1), token: c.token('greedy'), ca: c.ca })
    ]
    for (const s of sockets) {
      await s.connect()
      await s.join('budget')
    }
    t.not(sockets[0]?.replica, sockets[1]?.replica)
    for (const s of sockets) for (let i = 0; i < 10; i++) s.send('budget', `greedy ${i}`)
    await new Promise((resolve) => setTimeout(resolve, 300))
    const acked = sockets.reduce((n, s) => n + s.acked, 0)
    const limited = sockets.reduce((n, s) => n + s.errorFrames.filter((f) => f.code === 'rate_limited').length, 0)
    // Burst 5, refilled at 5/s: about 6 in 300 ms for the user, not 5 per replica.
    t.ok(acked <= 7, `${acked} of 20 acked at once`)
    t.ok(limited >= 13, `${limited} refused as rate_limited`)
  })
})
