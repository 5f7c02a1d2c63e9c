import t from 'tap'
import type { Message } from '@pan/protocol'
import { startCluster } from '@pan/cluster'
import { PanClient } from '../src/index.ts'
import { fetchTrusting } from './helpers/https-fetch.ts'
import { waitFor } from './helpers/server.ts'

// The cluster harness needs a real Postgres server. Locally, no DATABASE_URL means skip; in CI,
// where .ci/run always sets it, a missing one is a broken pipeline and must not pass as a skip.
const databaseUrl = process.env.DATABASE_URL ?? ''
if (databaseUrl === '' && process.env.CI !== undefined && process.env.CI !== '') {
  throw new Error('DATABASE_URL is not set, but CI is: the cluster tests cannot run')
}
const skip = databaseUrl === '' ? 'DATABASE_URL is not set (the cluster harness needs a Postgres server)' : false

t.test('kill -9 of the replica under a streaming client: it resumes the stream, one message with the whole text is stored', { skip }, async (t) => {
  const cluster = await startCluster({ replicas: 2 })
  t.teardown(async () => {
    const failed = !t.passing()
    if (failed) t.comment(`cluster logs kept in ${cluster.dir}\n${cluster.logTails()}`)
    await cluster.stop({ keepLogs: failed })
  })
  const created = await cluster.http('POST', '/v1/rooms', { as: 'admin', role: 'admin', body: { id: 'live', name: 'live', visibility: 'public' } })
  t.equal(created.status, 201)
  const options = (sub: string): ConstructorParameters<typeof PanClient>[1] => ({
    token: cluster.token(sub, 'agent', sub),
    ws: { ca: cluster.ca },
    fetch: fetchTrusting(cluster.ca),
    reconnect: { baseMs: 100, maxMs: 1000 }
  })

  const streamer = new PanClient(cluster.wsUrl, options('streamer'))
  const watcher = new PanClient(cluster.wsUrl, options('watcher'))
  t.teardown(async () => { await Promise.all([streamer.close(), watcher.close()]) })
  await Promise.all([streamer.connect(), watcher.connect()])
  const room = await watcher.join('live')
  const finals: Message[] = []
  let deltas = ''
  room.on('message', (m) => finals.push(m))
  room.on('stream', (e) => { if (e.type === 'stream.delta') deltas += e.text })

  const replica = streamer.server?.replica
  const victim = cluster.replicas.find((r) => r.id === replica)
  if (victim === undefined) throw new Error(`streamer on unknown replica ${String(replica)}`)
  const stream = streamer.stream('live')
  const words = Array.from({ length: 60 }, (_, i) => `w${i} `)
  let expected = ''
  for (const [i, word] of words.entries()) {
    stream.write(word)
    expected += word
    if (i === 20) {
      await waitFor(() => deltas.length > 0, 'the first deltas at the watcher')
      await victim.kill('SIGKILL')
    }
    await new Promise((resolve) => setTimeout(resolve, 25))
  }
  const ack = await stream.end()
  t.not(streamer.server?.replica, replica, `the streamer moved from ${String(replica)} to ${String(streamer.server?.replica)}`)
  t.equal(ack.id, stream.id)

  const stored = (await cluster.http('GET', '/v1/rooms/live/messages?after=0&limit=100', { as: 'admin', role: 'admin' })).body as { items: Message[] }
  t.strictSame(stored.items.map((m) => [m.id, m.seq, m.text, m.stream?.status]), [[stream.id, ack.seq, expected, 'complete']], 'exactly one message, the whole text, complete')
  await waitFor(() => finals.length > 0, 'the final message at the watcher', 15_000)
  await new Promise((resolve) => setTimeout(resolve, 200))
  t.strictSame(finals.map((m) => [m.id, m.text]), [[stream.id, expected]], 'the watcher got the stored message once')
})
