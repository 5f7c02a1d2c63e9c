import t, { type Test } from 'tap'
import { parseClientFrame, type ClientFrameType, type ParseResult } from '../src/index.ts'

const parse = (value: unknown): ParseResult => parseClientFrame(JSON.stringify(value))

/** Asserts a refusal and returns its message (tests check the shape, never the prose). */
const refused = (t: Test, result: ParseResult, ref?: string): void => {
  t.equal(result.ok, false, 'refused')
  if (result.ok) return
  t.type(result.message, 'string')
  t.ok(result.message.length > 0, 'with a message for the bad_request error')
  if (ref === undefined) t.notOk('ref' in result, 'no ref')
  else t.equal(result.ref, ref, 'ref echoed')
}

t.test('valid frames of every type are accepted as they are', async (t) => {
  const frames: Record<ClientFrameType, Array<Record<string, unknown>>> = {
    join: [{ type: 'join', room: 'lobby' }, { type: 'join', room: 'lobby', since: 0, ref: 'r1' }, { type: 'join', room: 'a.b_c-9', since: 42 }],
    leave: [{ type: 'leave', room: 'lobby', ref: 'r2' }],
    send: [
      { type: 'send', room: 'lobby', id: 'm1', text: 'hi' },
      { type: 'send', room: 'lobby', id: 'm2', data: { nested: { n: 1 }, list: [1, 2] }, ref: 'r3' },
      { type: 'send', room: 'lobby', id: 'm3', text: '', data: {} }
    ],
    'stream.start': [{ type: 'stream.start', room: 'lobby', id: 's1', ref: 'r4' }],
    'stream.delta': [{ type: 'stream.delta', id: 's1', text: 'tok' }, { type: 'stream.delta', id: 's1', text: '' }],
    'stream.end': [{ type: 'stream.end', id: 's1' }, { type: 'stream.end', id: 's1', text: 'all', data: { k: 'v' }, ref: 'r5' }],
    'stream.abort': [{ type: 'stream.abort', id: 's1' }],
    state: [
      ...['idle', 'thinking', 'streaming', 'waiting', 'busy'].map((state) => ({ type: 'state', state })),
      { type: 'state', state: 'busy', note: 'n'.repeat(256) }
    ],
    presence: [{ type: 'presence', room: 'lobby', ref: 'r6' }],
    ping: [{ type: 'ping' }, { type: 'ping', ref: 'x'.repeat(64) }]
  }
  for (const [type, list] of Object.entries(frames)) {
    for (const frame of list) {
      const result = parse(frame)
      t.strictSame(result, { ok: true, frame }, `${type}: ${JSON.stringify(frame).slice(0, 60)}`)
    }
  }
})

t.test('text that is not JSON is refused', async (t) => {
  for (const raw of ['', '{', 'not json', '{"type":"ping",}', "{'type':'ping'}", '\u0000']) {
    refused(t, parseClientFrame(raw))
  }
})

t.test('JSON that is not an object is refused', async (t) => {
  for (const raw of ['null', '[]', '[{"type":"ping"}]', '"ping"', '42', 'true']) {
    refused(t, parseClientFrame(raw))
  }
})

t.test('a missing or unknown type is refused, echoing a string ref', async (t) => {
  refused(t, parse({ room: 'lobby' }))
  refused(t, parse({ type: 'nope', ref: 'a' }), 'a')
  refused(t, parse({ type: 42, ref: 'b' }), 'b')
  refused(t, parse({ type: null }))
  refused(t, parse({ type: 'PING' }))
  refused(t, parse({ type: 'message', room: 'lobby' })) // a server frame type
  refused(t, parse({ type: ['ping'] }))
})

t.test('prototype keys are not frame types', async (t) => {
  for (const type of ['constructor', '__proto__', 'toString', 'hasOwnProperty', 'valueOf', 'prototype', '__defineGetter__']) {
    refused(t, parse({ type, ref: 'p' }), 'p')
  }
  refused(t, parseClientFrame('{"type":"__proto__","ref":"q"}'), 'q')
})

t.test('a frame that fails its schema is refused with its ref', async (t) => {
  const cases: Array<Record<string, unknown>> = [
    { type: 'join', ref: 'r' },
    { type: 'join', room: 'lobby', since: -1, ref: 'r' },
    { type: 'join', room: 'lobby', since: 1.5, ref: 'r' },
    { type: 'join', room: 'lobby', since: '3', ref: 'r' },
    { type: 'leave', room: 7, ref: 'r' },
    { type: 'send', room: 'lobby', ref: 'r', text: 'no id' },
    { type: 'send', room: 'lobby', id: 7, text: 'hi', ref: 'r' },
    { type: 'send', room: 'lobby', id: '', text: 'hi', ref: 'r' },
    { type: 'send', room: 'lobby', id: 'm', text: 5, ref: 'r' },
    { type: 'send', room: 'lobby', id: 'm', data: [1, 2], ref: 'r' },
    { type: 'send', room: 'lobby', id: 'm', data: null, ref: 'r' },
    { type: 'send', room: 'lobby', id: 'm', data: 'str', ref: 'r' },
    { type: 'send', room: 'lobby', id: 'a\u0001b', text: 'control character in id', ref: 'r' },
    { type: 'stream.start', id: 's', ref: 'r' },
    { type: 'stream.delta', id: 's', ref: 'r' },
    { type: 'stream.end', ref: 'r' },
    { type: 'stream.abort', ref: 'r' },
    { type: 'state', state: 'sleeping', ref: 'r' },
    { type: 'state', state: 'busy', note: 'n'.repeat(257), ref: 'r' },
    { type: 'presence', ref: 'r' }
  ]
  for (const frame of cases) refused(t, parse(frame), 'r')
})

t.test('a ref that is not a string is not echoed', async (t) => {
  refused(t, parse({ type: 'ping', ref: 5 }))
  refused(t, parse({ type: 'join', ref: { x: 1 } }))
})

t.test('a ref over 64 chars fails the schema', async (t) => {
  const ref = 'r'.repeat(65)
  refused(t, parse({ type: 'ping', ref }), ref)
})

t.test('unknown extra fields are ignored', async (t) => {
  const frame = { type: 'send', room: 'lobby', id: 'm1', text: 'hi', from: { id: 'mallory' }, extra: [1], seq: 99 }
  t.equal(parse(frame).ok, true)
  t.equal(parse({ type: 'ping', whatever: null }).ok, true)
  const proto = parseClientFrame('{"type":"ping","__proto__":{"polluted":true},"constructor":{"prototype":{"polluted":true}}}')
  t.equal(proto.ok, true, 'even prototype-named fields')
  t.equal(({} as Record<string, unknown>).polluted, undefined, 'and nothing is polluted')
})

t.test('ids over 64 chars are refused', async (t) => {
  const id64 = 'i'.repeat(64)
  const id65 = 'i'.repeat(65)
  t.equal(parse({ type: 'send', room: 'lobby', id: id64, text: 'x' }).ok, true, '64 is fine')
  refused(t, parse({ type: 'send', room: 'lobby', id: id65, text: 'x', ref: 'r' }), 'r')
  refused(t, parse({ type: 'stream.start', room: 'lobby', id: id65 }))
  refused(t, parse({ type: 'stream.delta', id: id65, text: 'x' }))
  refused(t, parse({ type: 'stream.end', id: id65 }))
  refused(t, parse({ type: 'stream.abort', id: id65 }))
  t.equal(parse({ type: 'send', room: 'lobby', id: 'ü✓ é', text: 'x' }).ok, true, 'any printable characters')
})

t.test('room ids: 1..64 chars of [a-z0-9._-]', async (t) => {
  for (const room of ['a', '0', 'a.b', 'a_b', 'a-b', '...', 'r'.repeat(64)]) {
    t.equal(parse({ type: 'join', room }).ok, true, `accepts ${JSON.stringify(room.slice(0, 10))}`)
  }
  for (const room of ['', 'A', 'Lobby', 'a b', 'a/b', 'a:b', 'é', 'a\n', '\na', 'r'.repeat(65)]) {
    refused(t, parse({ type: 'join', room, ref: 'r' }), 'r')
    refused(t, parse({ type: 'send', room, id: 'm', text: 'x' }))
    refused(t, parse({ type: 'presence', room }))
  }
})
