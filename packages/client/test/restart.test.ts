import t, { type Test } from 'tap'
import type { Message } from '@pan/protocol'
import { connect, type Ack, type PanClient } from '../src/index.ts'
import { createRoom, startServer, waitFor } from './helpers/server.ts'

/**
 * Two agents hold a conversation while the server goes away under them and comes back on the
 * same data dir and port: Alice asks, Bob answers every question he sees. Nothing may be lost or
 * doubled, in storage or in what either agent's application is given.
 */
async function conversationAcrossRestart (t: Test, signal: 'SIGTERM' | 'SIGKILL'): Promise<void> {
  const server = await startServer(t)
  await createRoom(server, 'chat')
  const seen = new Map<string, Message[]>()
  const join = async (name: string): Promise<PanClient> => {
    const c = await connect(server.url, { token: server.token(name, 'agent', name), reconnect: { baseMs: 100, maxMs: 1000 } })
    t.teardown(async () => { await c.close() })
    const log: Message[] = []
    seen.set(name, log)
    const room = await c.join('chat', { since: 0 })
    room.on('message', (m) => {
      log.push(m)
      if (name === 'bob' && m.from.id === 'alice') answers.push(c.send('chat', { text: `re: ${m.text ?? ''}` }))
    })
    return c
  }
  const answers: Array<Promise<Ack>> = []
  const alice = await join('alice')
  await join('bob')

  const N = 40
  const questions: Array<Promise<Ack>> = []
  for (let i = 1; i <= N; i++) {
    questions.push(alice.send('chat', { text: `q${i}` }))
    // Sends made while the server is down wait in the client's queue.
    if (i === 15) await server.stop(signal)
    if (i === 25) await server.start()
    await new Promise((resolve) => setTimeout(resolve, 15))
  }
  const asked = await Promise.all(questions)
  await waitFor(() => answers.length === N, 'an answer to every question', 30_000)
  const answered = await Promise.all(answers)

  const seqs = [...asked, ...answered].map((a) => a.seq).sort((a, b) => a - b)
  t.strictSame(seqs, Array.from({ length: 2 * N }, (_, i) => i + 1), 'acks: seqs 1..2N, each once')

  const stored = await alice.rest.historyRange('chat', 0)
  t.equal(stored.length, 2 * N, 'stored: 2N rows')
  t.equal(new Set(stored.map((m) => m.text)).size, 2 * N, 'no text stored twice')
  t.strictSame(stored.filter((m) => m.from.id === 'alice').map((m) => m.text), Array.from({ length: N }, (_, i) => `q${i + 1}`), 'questions stored in the order asked')
  for (const [name, log] of seen) {
    await waitFor(() => log.length >= 2 * N, `${name} to see all ${2 * N}`, 15_000)
    t.strictSame(log.map((m) => m.seq), stored.map((m) => m.seq), `${name} was given every message once, in seq order`)
  }
}

t.test('server restart (SIGTERM: drain with 1012) mid-conversation: nothing lost or doubled', async (t) => {
  await conversationAcrossRestart(t, 'SIGTERM')
})

t.test('server crash (SIGKILL: acks in flight are lost) mid-conversation: nothing lost or doubled', async (t) => {
  await conversationAcrossRestart(t, 'SIGKILL')
})
