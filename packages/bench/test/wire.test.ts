import t from 'tap'
import { encode, merge, newHistogram, percentiles, recordMs } from '../src/hist.ts'
import { readAck, readMessage, sendFrame } from '../src/client/wire.ts'

t.test('a message payload is read back on every wire', async (t) => {
  t.strictSame(readMessage('raw', Buffer.from(sendFrame('raw', 'r', '7:1764240000123.456:w1.3', 'x'))), { step: 7, stamp: 1764240000123.456, tag: 'w1.3' })
  t.strictSame(readMessage('sio', Buffer.from(sendFrame('sio', 'r', '7:12.5:w1.3', 'x'))), { step: 7, stamp: 12.5, tag: 'w1.3' })
  // PAN delivers a message frame built by the server around the text that was sent.
  const frame = JSON.stringify({ type: 'message', room: 'r', seq: 3, id: '7:12.5:9', from: { id: 'u1', name: 'u1' }, text: '@7:12.5:w1.3', ts: 1 })
  t.strictSame(readMessage('pan', Buffer.from(frame)), { step: 7, stamp: 12.5, tag: 'w1.3' })
  t.equal(readMessage('pan', Buffer.from('{"type":"joined","room":"r","seq":0}')), undefined)
})

t.test('a PAN ack gives back the stamp from the client id', async (t) => {
  const ack = JSON.stringify({ type: 'ack', room: 'r', id: '7:12.5:9', seq: 3, ts: 1 })
  t.strictSame(readAck(Buffer.from(ack)), { step: 7, stamp: 12.5, tag: '9' })
  t.equal(readAck(Buffer.from('{"type":"message","id":"7:1:1"}')), undefined)
})

t.test('histograms merge across workers', async (t) => {
  const a = newHistogram()
  const b = newHistogram()
  for (let i = 1; i <= 99; i++) recordMs(a, 1)
  recordMs(b, 250)
  const p = percentiles(merge([encode(a), encode(b)]))
  t.equal(p.count, 100)
  t.equal(p.p50, 1)
  t.ok(p.max >= 249 && p.max <= 251, `max ${p.max}`)
})
