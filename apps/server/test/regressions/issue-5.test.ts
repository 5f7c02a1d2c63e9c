import { randomUUID } from 'node:crypto'
import t from 'tap'
import { MemoryBus, RedisBus, type Bus } from '@pan/bus'
import { createTestDatabase, type TestDatabase } from '@pan/db/testing'
import { findFirstJoin, insertRoom, type DatabaseHandle } from '@pan/db'
import type { Role } from '@pan/protocol'
import { buildApp, type App } from '../../src/app.ts'
import { loadConfig } from '../../src/config.ts'
import { signToken } from '../../src/tokens.ts'
import { TEST_SECRET, TestSocket, eachDatabase, testKeys } from '../helpers.ts'

/**
 * Issue 5 (idle capacity): connection set-up no longer reads the database once per connection
 * (user rows and first joins are written in groups, bans and rooms are cached, an empty ban list
 * included). These check that the contract survived: bans bite across replicas even over a
 * cached "not banned", user rows exist and carry the stored name, first joins are recorded.
 */

interface Replica { app: App, wsUrl: string, url: string }

/** Two replicas on one database; on one Redis when REDIS_URL is set, else on one in-process bus. */
async function twoReplicas (t: Tap.Test, kind: 'pglite' | 'postgres'): Promise<{ replicas: [Replica, Replica], db: DatabaseHandle }> {
  const testDb: TestDatabase = await createTestDatabase(kind)
  // PGlite is one process's database: both replicas share the handle. Postgres: one pool each.
  const first = await testDb.open()
  const second = kind === 'postgres' ? await testDb.open() : first
  const redisUrl = process.env.REDIS_URL
  const prefix = `pan-test-${randomUUID()}:`
  const shared = new MemoryBus({ replicaId: 'shared' })
  const busFor = async (id: string): Promise<Bus> => redisUrl === undefined || redisUrl === ''
    ? shared
    : await RedisBus.connect({ url: redisUrl, keyPrefix: prefix, replicaId: id, logger: { warn () {}, error () {} } })
  const buses: Bus[] = []
  const replicas: Replica[] = []
  for (const [i, database] of [first, second].entries()) {
    const bus = await busFor(`r${i + 1}`)
    buses.push(bus)
    const config = loadConfig({ JWT_SECRET: TEST_SECRET, LOG_LEVEL: 'silent', ...(testDb.options.url === undefined ? {} : { DATABASE_URL: testDb.options.url }) })
    const app = await buildApp({ config, database, bus, keys: testKeys })
    const url = await app.listen({ port: 0, host: '127.0.0.1' })
    replicas.push({ app, url, wsUrl: url.replace(/^http/, 'ws') + '/v1/ws' })
  }
  t.teardown(async () => {
    for (const r of replicas) await r.app.close()
    for (const bus of new Set(buses)) await bus.close()
    for (const database of new Set([first, second])) await database.close()
    await testDb.destroy()
  })
  return { replicas: replicas as [Replica, Replica], db: first }
}

const token = (sub: string, role: Role = 'agent', name?: string): string =>
  signToken(testKeys, { sub, role, ...(name === undefined ? {} : { name }) }, 3600)

/** Opens a socket and resolves with its first frame (hello) or its close code. */
async function connect (r: Replica, sub: string, role: Role = 'agent', name?: string): Promise<{ socket: TestSocket, hello?: any, code?: number }> {
  const socket = await TestSocket.open(`${r.wsUrl}?token=${token(sub, role, name)}`)
  try {
    return { socket, hello: await socket.next((f) => f.type === 'hello') }
  } catch {
    return { socket, code: await socket.closed }
  }
}

async function http (r: Replica, method: string, path: string, as: string, role: Role, body?: unknown): Promise<{ status: number, body: any }> {
  const res = await fetch(r.url + path, {
    method,
    headers: { authorization: `Bearer ${token(as, role)}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) })
  })
  const text = await res.text()
  return { status: res.status, body: text === '' ? undefined : JSON.parse(text) }
}

eachDatabase(t, async (t, kind) => {
  const { replicas: [a, b], db } = await twoReplicas(t, kind)

  await t.test('a ban issued after both replicas cached "not banned" refuses the next connect on the other one', async (t) => {
    for (const r of [a, b]) {
      const { socket, hello } = await connect(r, 'mallory')
      t.match(hello, { type: 'hello' })
      socket.close()
      await socket.closed
    }
    const ban = await http(b, 'POST', '/v1/bans', 'root', 'admin', { user: 'mallory' })
    t.equal(ban.status, 201)
    const refused = await connect(a, 'mallory')
    t.equal(refused.code, 4003, 'refused on the replica that did not store the ban')
    t.equal((await http(a, 'GET', '/v1/rooms', 'mallory', 'agent')).status, 403)

    t.equal((await http(a, 'DELETE', `/v1/bans/${ban.body.id as string}`, 'root', 'admin')).status, 204)
    const back = await connect(b, 'mallory')
    t.match(back.hello, { type: 'hello' }, 'lifted on one replica: admitted on the other')
    back.socket.close()
  })

  await t.test('the user row is written on connect, and the stored name wins over a token\'s on any replica', async (t) => {
    const { socket, hello } = await connect(a, 'ann', 'agent', 'Ann')
    t.match(hello.user, { id: 'ann', name: 'Ann', role: 'agent' })
    const row = await http(b, 'GET', '/v1/users/ann', 'root', 'admin')
    t.equal(row.status, 200, 'the row exists once hello is sent')
    t.match(row.body, { id: 'ann', name: 'Ann', role: 'agent' })
    t.ok(row.body.lastSeenAt, 'lastSeenAt is set')
    socket.close()
    t.equal((await http(a, 'PATCH', '/v1/users/ann', 'root', 'admin', { name: 'Annie' })).status, 200)
    const again = await connect(b, 'ann', 'agent', 'Token Name')
    t.equal(again.hello.user.name, 'Annie', 'hello carries the stored name, not the token\'s')
    again.socket.close()
  })

  await t.test('a herd of first connects and joins: every user row and first join is recorded', async (t) => {
    await insertRoom(db.db, { id: 'herd', name: 'herd', visibility: 'public', config: {}, metadata: {}, createdBy: null })
    const n = 40
    const opened = await Promise.all(Array.from({ length: n }, async (_, i) => await connect(i % 2 === 0 ? a : b, `h${i}`, 'agent', `H ${i}`)))
    t.strictSame(opened.map((o) => o.hello?.user.name), Array.from({ length: n }, (_, i) => `H ${i}`), 'each hello has its own name')
    const joined = await Promise.all(opened.map(async (o) => await o.socket.request({ type: 'join', room: 'herd' })))
    t.ok(joined.every((j) => j.type === 'joined'), 'every join answered joined')
    for (let i = 0; i < n; i++) t.equal(await findFirstJoin(db.db, 'herd', `h${i}`), 0, `h${i}'s first join is stored`)
    const rows = await Promise.all(Array.from({ length: n }, async (_, i) => await http(a, 'GET', `/v1/users/h${i}`, 'root', 'admin')))
    t.ok(rows.every((r, i) => r.status === 200 && r.body.name === `H ${i}`), 'every user row exists with its name')
    for (const o of opened) o.socket.close()
  })

  await t.test('members on both replicas get a stream\'s events and messages once each, in the order they were published', async (t) => {
    await insertRoom(db.db, { id: 'order', name: 'order', visibility: 'public', config: {}, metadata: {}, createdBy: null })
    const writer = (await connect(a, 'writer')).socket
    const near = (await connect(a, 'near')).socket
    const far = (await connect(b, 'far')).socket
    for (const s of [writer, near, far]) t.match(await s.request({ type: 'join', room: 'order' }), { type: 'joined' })
    const inRoom = (f: any): boolean => f.room === 'order' && (f.type === 'message' || f.type.startsWith('stream.'))

    t.match(await writer.request({ type: 'send', room: 'order', id: 'before', text: 'before' }), { type: 'ack', seq: 1 })
    await writer.request({ type: 'stream.start', room: 'order', id: 'st' })
    for (let i = 0; i < 20; i++) writer.send({ type: 'stream.delta', id: 'st', text: `${i} ` })
    t.match(await writer.request({ type: 'stream.end', id: 'st' }), { type: 'ack', id: 'st', seq: 2 })
    t.match(await writer.request({ type: 'send', room: 'order', id: 'after', text: 'after' }), { type: 'ack', seq: 3 })

    const expected = ['message before', 'stream.start st', ...Array.from({ length: 20 }, (_, i) => `stream.delta ${i} `), 'message st', 'stream.end st', 'message after']
    for (const [name, member] of [['same replica', near], ['other replica', far]] as const) {
      const got = await member.collect(expected.length, inRoom)
      t.strictSame(got.map((f) => f.type === 'stream.delta' ? `${f.type as string} ${f.text as string}` : `${f.type as string} ${f.id as string}`), expected, `${name}: in publish order`)
      t.ok(await member.nothing(inRoom, 300), `${name}: nothing twice`)
    }
    t.ok(await writer.nothing((f) => inRoom(f) && f.type !== 'message'), 'the writer gets no stream events of its own')
    for (const s of [writer, near, far]) s.close()
  })
})

declare namespace Tap { type Test = import('tap').Test }
