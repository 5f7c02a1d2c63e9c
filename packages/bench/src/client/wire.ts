import type { Protocol } from '../targets/types.ts'

/**
 * What a bench message looks like on each wire. The payload is the same everywhere,
 * `@<step>:<send stamp ms>:<sender tag>`, so receivers find it with one byte search instead of
 * parsing JSON: the load generator should cost as little as possible on a 2-core machine.
 */
export function sendFrame (protocol: Protocol, room: string, payload: string, id: string): string {
  switch (protocol) {
    case 'pan': return `{"type":"send","room":"${room}","id":"${id}","text":"@${payload}"}`
    case 'raw': return `{"type":"message","text":"@${payload}"}`
    case 'sio': return `42["m","@${payload}"]`
  }
}

export interface Stamp {
  step: number
  stamp: number
  tag: string
}

const TEXT = Buffer.from('"text":"@')
const SIO_EVENT = Buffer.from('42["m","@')
const ACK_PREFIX = Buffer.from('{"type":"ack"')
const ERROR_PREFIX = Buffer.from('{"type":"error"')
const ID = Buffer.from('"id":"')

/** The bench payload of a message frame, or undefined for any other frame. */
export function readMessage (protocol: Protocol, data: Buffer): Stamp | undefined {
  let start: number
  if (protocol === 'sio') {
    if (!startsWith(data, SIO_EVENT)) return undefined
    start = SIO_EVENT.length
  } else {
    const at = data.indexOf(TEXT)
    if (at < 0) return undefined
    start = at + TEXT.length
  }
  const end = data.indexOf(0x22, start) // "
  if (end < 0) return undefined
  return parse(data.toString('latin1', start, end))
}

/** PAN: the step and stamp in an ack's client id (`<step>:<stamp>:<n>`). */
export function readAck (data: Buffer): Stamp | undefined {
  if (!startsWith(data, ACK_PREFIX)) return undefined
  const at = data.indexOf(ID)
  if (at < 0) return undefined
  const start = at + ID.length
  const end = data.indexOf(0x22, start)
  return end < 0 ? undefined : parse(data.toString('latin1', start, end))
}

export const isError = (data: Buffer): boolean => startsWith(data, ERROR_PREFIX)

function parse (s: string): Stamp | undefined {
  const a = s.indexOf(':')
  const b = s.indexOf(':', a + 1)
  if (a < 0 || b < 0) return undefined
  return { step: Number(s.slice(0, a)), stamp: Number(s.slice(a + 1, b)), tag: s.slice(b + 1) }
}

function startsWith (data: Buffer, prefix: Buffer): boolean {
  return data.length >= prefix.length && data.compare(prefix, 0, prefix.length, 0, prefix.length) === 0
}
