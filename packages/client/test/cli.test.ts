import t from 'tap'
import { spawn } from 'node:child_process'
import type { Message } from '@pan/protocol'
import { connect } from '../src/index.ts'
import { packageDir, runTs, type Ran } from './helpers/run.ts'
import { startServer, waitFor } from './helpers/server.ts'

// The server generates its own dev secret into its data dir, as a fresh `pnpm start` does.
const server = await startServer(t, { secret: null })

const pan = async (args: string[], env: Record<string, string> = {}, input?: string): Promise<Ran> =>
  await runTs('src/cli/pan.ts', args, { env: { PAN_URL: server.url, ...env }, ...(input === undefined ? {} : { input }) })

const minted = await pan(['token', '--sub', 'cli-admin', '--role', 'admin', '--name', 'CLI Admin', '--ttl', '1h'], { PAN_DATA_DIR: server.dataDir })
const admin = minted.stdout.trim()
const as = { PAN_TOKEN: admin }
const jsonLines = (ran: Ran): any[] => ran.stdout.trim().split('\n').filter((l) => l !== '').map((l) => JSON.parse(l))

t.test('pan token: signs with the dev secret the server generated; the server accepts it', async (t) => {
  t.equal(minted.code, 0, minted.stderr)
  t.match(admin, /^[\w-]+\.[\w-]+\.[\w-]+$/)
  const res = await fetch(`${server.url}/v1/users/cli-admin`, { headers: { authorization: `Bearer ${admin}` } })
  t.equal(res.status, 200)
  t.match(await res.json(), { id: 'cli-admin', role: 'admin', name: 'CLI Admin' })
  const [usage, cluster] = await Promise.all([
    pan(['token', '--role', 'admin'], { PAN_DATA_DIR: server.dataDir }),
    pan(['token', '--sub', 'x'], { DATABASE_URL: 'postgres://db/pan' })
  ])
  t.equal(usage.code, 2, 'no --sub: usage error')
  t.match(usage.stderr, /^pan: --sub is required/)
  t.equal(cluster.code, 2, 'no key to sign with: configuration error')
  t.match(cluster.stderr, /^pan: invalid configuration: JWT_SECRET is required/)
})

t.test('pan rooms: create, close, list (readable and JSON)', async (t) => {
  t.equal((await server.http('POST', '/v1/rooms', { body: { id: 'doomed', name: 'doomed', visibility: 'public' } })).status, 201)
  const [created, closed] = await Promise.all([pan(['rooms', 'create', 'cli-room', '--name', 'CLI Room'], as), pan(['rooms', 'close', 'doomed'], as)])
  t.equal(created.code, 0, created.stderr)
  t.match(created.stdout, /^created cli-room {2}"CLI Room" {2}public/)
  t.equal(closed.code, 0, closed.stderr)
  t.equal(closed.stdout, 'closed room doomed\n')
  const [listed, all] = await Promise.all([pan(['rooms'], as), pan(['rooms', 'list', '--all', '--json'], as)])
  t.match(listed.stdout, /^cli-room {2}"CLI Room" {2}public {2}online 0 {2}last seq 0\n$/, 'closed rooms leave the list')
  t.match(jsonLines(all).map((r) => [r.id, r.closedAt === null]), [['cli-room', true], ['doomed', false]], 'unless --all')
})

t.test('pan send and pan history', async (t) => {
  const sent = await pan(['send', 'cli-room', 'hello from the CLI'], as)
  t.equal(sent.code, 0, sent.stderr)
  t.match(sent.stdout, /^sent to cli-room: seq 1 \(id [\w-]+\)\n$/)
  const withData = await pan(['send', 'cli-room', 'with data', '--data', '{"k":1}', '--id', 'fixed', '--json'], as)
  t.match(jsonLines(withData), [{ room: 'cli-room', id: 'fixed', seq: 2 }])
  const history = await pan(['history', 'cli-room'], as)
  t.equal(history.code, 0, history.stderr)
  t.match(history.stdout, /^#1 \d\d:\d\d:\d\d CLI Admin \(cli-admin\): hello from the CLI\n#2 \d\d:\d\d:\d\d CLI Admin \(cli-admin\): with data \{"k":1\}\n$/)
  t.strictSame(jsonLines(await pan(['history', 'cli-room', '--after', '1', '--json'], as)).map((m) => m.seq), [2])
})

t.test('pan tail: replays with --since, follows live, stops after --count', async (t) => {
  const tail = runTs('src/cli/pan.ts', ['tail', 'cli-room', '--since', '1', '--count', '3', '--json'], { env: { PAN_URL: server.url, ...as } })
  // Wait until the tail has joined (it shows in presence), then post the live ones.
  const deadline = Date.now() + 15_000
  while (Date.now() < deadline) {
    const presence = await server.http('GET', '/v1/rooms/cli-room/presence')
    if (presence.body.items.some((m: { id: string }) => m.id === 'cli-admin')) break
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  for (const text of ['live one', 'live two']) await server.http('POST', '/v1/rooms/cli-room/messages', { as: 'cli-admin', body: { id: text, text } })
  const ran = await tail
  t.equal(ran.code, 0, ran.stderr)
  t.strictSame(jsonLines(ran).map((m: Message) => [m.seq, m.text]), [[2, 'with data'], [3, 'live one'], [4, 'live two']])
})

t.test('pan tail until Ctrl-C: exits 0', async (t) => {
  const child = spawn(process.execPath, ['--import', import.meta.resolve('tsx'), 'src/cli/pan.ts', 'tail', 'cli-room', '--since', '0'], {
    cwd: packageDir, env: { PATH: process.env.PATH, PAN_URL: server.url, ...as }, stdio: ['ignore', 'pipe', 'pipe']
  })
  let out = ''
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => { out += chunk })
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  const timer = setTimeout(() => child.kill('SIGKILL'), 20_000)
  await waitFor(() => out.split('\n').length > 4, 'the replayed history', 15_000)
  child.kill('SIGINT')
  t.equal(await exited, 0)
  clearTimeout(timer)
  t.match(out, /^#1 .*hello from the CLI\n/)
})

t.test('pan stream: standard input becomes one streamed message, watched live', async (t) => {
  const watcher = await connect(server.url, { token: admin })
  t.teardown(async () => { await watcher.close() })
  const room = await watcher.join('cli-room')
  let live = ''
  room.on('stream', (e) => { if (e.type === 'stream.delta') live += e.text })
  const text = 'tokens from some-llm, '.repeat(50) + 'done'
  const ran = await pan(['stream', 'cli-room', '--json'], as, text)
  t.equal(ran.code, 0, ran.stderr)
  const [ack] = jsonLines(ran)
  const stored = await server.http('GET', `/v1/rooms/cli-room/messages?after=${(ack.seq as number) - 1}&limit=1`)
  t.match(stored.body.items, [{ id: ack.id, text, stream: { status: 'complete' } }])
  await waitFor(() => live === text, 'the deltas at the watcher')
  const empty = await pan(['stream', 'cli-room'], as, '')
  t.equal(empty.code, 1)
  t.match(empty.stderr, /^pan: standard input was empty/)
})

t.test('pan presence', async (t) => {
  const agent = await connect(server.url, { token: server.token('present-agent', 'agent', 'Present') })
  t.teardown(async () => { await agent.close() })
  await agent.join('cli-room')
  agent.setState('busy')
  const deadline = Date.now() + 10_000
  while (Date.now() < deadline) {
    const online = await server.http('GET', '/v1/rooms/cli-room/presence')
    if (online.body.items.some((m: { id: string, state: string }) => m.id === 'present-agent' && m.state === 'busy')) break
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  const members = jsonLines(await pan(['presence', 'cli-room', '--json'], as))
  t.match(members, [{ id: 'present-agent', name: 'Present', state: 'busy' }])
  const readable = await pan(['presence', 'cli-room'], as)
  t.match(readable.stdout, /^present-agent {2}"Present" {2}busy {2}since \d{4}-/)
})

t.test('pan ban, bans, unban', async (t) => {
  const banned = await pan(['ban', 'troll', '--room', 'cli-room', '--reason', 'spam', '--json'], as)
  t.equal(banned.code, 0, banned.stderr)
  const [ban] = jsonLines(banned)
  t.match(ban, { user: 'troll', room: 'cli-room', reason: 'spam', liftedAt: null })
  const listed = await pan(['bans', '--user', 'troll'], as)
  t.match(listed.stdout, new RegExp(`^${ban.id as string} {2}troll {2}room cli-room {2}active {2}"spam"\n$`))
  const lifted = await pan(['unban', ban.id], as)
  t.equal(lifted.code, 0, lifted.stderr)
  t.equal(lifted.stdout, `lifted ban ${ban.id as string}\n`)
  t.match(jsonLines(await pan(['bans', '--user', 'troll', '--active', 'false', '--json'], as)), [{ id: ban.id }])
})

t.test('errors: clear messages, exit codes 1 and 2, never the token', async (t) => {
  const [unknown, noToken, badFlag, conflict, refused, badToken, unreachable, help] = await Promise.all([
    pan(['frobnicate'], as),
    pan(['rooms']),
    pan(['send', 'cli-room', 'x', '--data', '[1]'], as),
    pan(['rooms', 'create', 'doomed'], as),
    pan(['rooms', 'create', 'nope'], { PAN_TOKEN: server.token('agent-1', 'agent') }),
    pan(['tail', 'cli-room', '--token', 'not.a.jwt']),
    pan(['send', 'cli-room', 'x', '--url', 'http://127.0.0.1:9'], as),
    pan(['help'])
  ])
  t.equal(unknown.code, 2)
  t.match(unknown.stderr, /^pan: unknown command frobnicate/)
  t.equal(noToken.code, 2)
  t.match(noToken.stderr, /^pan: no token: set PAN_TOKEN or pass --token/)
  t.equal(badFlag.code, 2)
  t.match(badFlag.stderr, /^pan: --data must be a JSON object/)
  t.equal(conflict.code, 1, 'a server refusal exits 1')
  t.match(conflict.stderr, /^pan: conflict \(HTTP 409\): /, 'a closed room id is never reused')
  t.equal(refused.code, 1)
  t.match(refused.stderr, /^pan: forbidden \(HTTP 403\): /, 'agents may not create rooms')
  t.equal(badToken.code, 1)
  t.match(badToken.stderr, /^pan: the server refused the token \(close 4001\)/)
  t.equal(unreachable.code, 1)
  t.match(unreachable.stderr, /^pan: cannot reach the server: /)
  for (const ran of [unknown, noToken, badFlag, conflict, refused, badToken, unreachable]) t.notOk(ran.stderr.includes(admin) || ran.stdout.includes(admin), 'the token is never printed')
  t.equal(help.code, 0)
  t.match(help.stdout, /^usage: pan <command>/)
})
