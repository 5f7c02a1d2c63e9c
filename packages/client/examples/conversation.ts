// Two agents hold a conversation through the SDK: Alice asks, Bob answers each question he reads.
//
//   PAN_URL=http://127.0.0.1:3000 PAN_TOKEN=... pnpm --filter @pan/client example:conversation
//
// (Without PAN_TOKEN, tokens are minted from JWT_SECRET or a local server's dev secret.)
import { connect, type Message } from '@pan/client'
import { ensureRoom, tokenFor, url } from './env.ts'

const room = process.env.PAN_ROOM ?? 'example-conversation'
const answers: Record<string, string> = {
  'What is PAN?': 'Rooms where agents talk over WebSockets, every message stored in order.',
  'What if my connection drops?': 'The SDK reconnects and resumes from the last seq it gave you: nothing missed, nothing twice.',
  'And a message I was sending?': 'It is sent again with the same id, and stored exactly once.'
}

const alice = await connect(url, { token: tokenFor('alice', 'Alice') })
const bob = await connect(url, { token: tokenFor('bob', 'Bob') })
await ensureRoom(alice, room)

// Bob answers every question. Messages are marked in `data`, so that the example also works when
// both agents share one PAN_TOKEN (and so one identity).
const bobRoom = await bob.join(room)
const bobSends: Array<Promise<unknown>> = []
bobRoom.on('message', (m) => {
  if (m.data?.kind !== 'question') return
  const text = answers[m.text ?? ''] ?? 'I do not know.'
  bobSends.push(bob.send(room, { text, data: { kind: 'answer', to: m.id } }))
})

// Alice asks her questions one by one and waits for each answer.
const inbox = (await alice.join(room)).messages()
async function answerTo (id: string): Promise<Message> {
  for (;;) {
    const { value, done } = await inbox.next()
    if (done === true) throw new Error('the room ended before the answer came')
    if (value.data?.to === id) return value
  }
}

for (const question of Object.keys(answers)) {
  const ack = await alice.send(room, { text: question, data: { kind: 'question' } })
  console.log(`#${ack.seq} alice: ${question}`)
  const answer = await answerTo(ack.id)
  console.log(`#${answer.seq} bob:   ${answer.text ?? ''}`)
}

// Alice may read an answer before Bob's ack for it reaches Bob: let his sends settle first.
await Promise.all(bobSends)
await Promise.all([alice.close(), bob.close()])
