import t from 'tap'
import type { Message } from '@pan/protocol'
import { Room, type RoomHost } from '../src/room.ts'

const msg = (seq: number): Message => ({ room: 'r', seq, id: `m${seq}`, from: { id: 'u', name: 'u' }, ts: seq })
const host = {} as unknown as RoomHost

t.test('messages delivered before anyone listens are held for the first listener and iterator', async (t) => {
  const room = new Room('r', host, 100)
  room.deliver(msg(1))
  room.deliver(msg(2))
  const heard: number[] = []
  room.on('message', (m) => heard.push(m.seq))
  const it = room.messages()
  room.deliver(msg(3))
  const got: number[] = []
  for await (const m of it) {
    got.push(m.seq)
    if (got.length === 3) break
  }
  t.strictSame(got, [1, 2, 3])
  t.strictSame(heard, [1, 2, 3])
})

t.test('an iterator that falls too far behind throws BufferFullError after what it was given', async (t) => {
  const room = new Room('r', host, 2)
  const it = room.messages()
  await new Promise((resolve) => setTimeout(resolve, 0))
  for (const seq of [1, 2, 3]) room.deliver(msg(seq))
  t.strictSame(await it.next(), { value: msg(1), done: false })
  t.strictSame(await it.next(), { value: msg(2), done: false })
  await t.rejects(it.next(), { code: 'PAN_CLIENT_BUFFER_FULL' })
})

t.test('held messages beyond maxBuffered are dropped oldest first and reported as truncated', async (t) => {
  const room = new Room('r', host, 2)
  const truncated: Array<{ from: number, to: number }> = []
  room.on('truncated', ({ from, to }) => truncated.push({ from, to }))
  for (const seq of [1, 2, 3]) room.deliver(msg(seq))
  t.strictSame(truncated, [{ from: 1, to: 1 }])
})

t.test('a kick ends iterators with KickedError; a leave ends them quietly', async (t) => {
  const kicked = new Room('r', host, 10)
  const k = kicked.messages()
  kicked.end({ kicked: 'banned' })
  await t.rejects(k.next(), { code: 'PAN_CLIENT_KICKED', reason: 'banned' })
  await t.rejects(kicked.messages().next(), { code: 'PAN_CLIENT_KICKED' }, 'also for an iterator started afterwards')
  const left = new Room('r', host, 10)
  const l = left.messages()
  left.end({ left: true })
  t.strictSame(await l.next(), { value: undefined, done: true })
})
