// A streaming agent writes an answer token by token; a watching agent sees the tokens arrive
// live, then the stored message.
//
//   PAN_URL=http://127.0.0.1:3000 PAN_TOKEN=... pnpm --filter @pan/client example:streaming
import { connect, type Message } from '@pan/client'
import { ensureRoom, tokenFor, url } from './env.ts'

const room = process.env.PAN_ROOM ?? 'example-streaming'

const storyteller = await connect(url, { token: tokenFor('storyteller', 'Storyteller') })
const watcher = await connect(url, { token: tokenFor('watcher', 'Watcher') })
await ensureRoom(storyteller, room)

// The watcher prints each delta as it arrives.
const watched = await watcher.join(room)
watched.on('stream', (event) => {
  if (event.type === 'stream.start') process.stdout.write(`[watcher] ${event.from.name} is typing: `)
  if (event.type === 'stream.delta') process.stdout.write(event.text)
  if (event.type === 'stream.end') process.stdout.write(`\n[watcher] stream ${event.status}\n`)
})

// A stand-in for an LLM: an answer, a word at a time.
async function * llm (): AsyncGenerator<string> {
  for (const word of 'Once upon a time, an agent streamed its thoughts, and nobody missed a word.'.split(' ')) {
    await new Promise((resolve) => setTimeout(resolve, 40))
    yield word + ' '
  }
}

const stream = storyteller.stream(room)
// The watcher gets the stored message, then the end of the live stream.
const stored = new Promise<Message>((resolve) => {
  watched.on('message', (m) => { if (m.id === stream.id) resolve(m) })
})
const ended = new Promise<void>((resolve) => {
  watched.on('stream', (e) => { if (e.type === 'stream.end' && e.id === stream.id) resolve() })
})
for await (const token of llm()) stream.write(token)
const ack = await stream.end()
const [message] = await Promise.all([stored, ended])
console.log(`[storyteller] stored as #${ack.seq}`)
console.log(`[watcher] message #${message.seq}: ${message.text ?? ''}`)

await Promise.all([storyteller.close(), watcher.close()])
