import * as ws from 'ws'

/**
 * A text frame serialised and WebSocket-framed once, then written as the same bytes to every
 * socket it goes to. Framing per socket (what `socket.send(string)` does) encodes the string to
 * UTF-8 and builds a header again for each of a room's members; in the fan-out profile that
 * work, and the writev of header and payload as two chunks, was most of PAN's cost above raw ws.
 *
 * Valid only on sockets without permessage-deflate (the server never enables it: `ws` defaults
 * it off and `app.ts` does not turn it on); `Connection` checks each socket's extensions and falls
 * back to `socket.send(text)` otherwise.
 */
export interface OutFrame {
  /** The frame as JSON text. */
  readonly text: string
  /** The whole unmasked WebSocket frame (FIN, opcode text, length, payload) in one buffer. */
  readonly wire: Buffer
}

interface FrameOptions {
  fin: boolean
  rsv1: boolean
  opcode: number
  mask: boolean
  readOnly: boolean
}

// `ws` exports its Sender (as engine.io's pre-encoded frames use it) but @types/ws does not declare it.
const { Sender } = ws as unknown as { Sender: { frame: (data: Buffer, options: FrameOptions) => Buffer[] } }

const TEXT: FrameOptions = { fin: true, rsv1: false, opcode: 1, mask: false, readOnly: true }

export function prepareFrame (text: string): OutFrame {
  const payload = Buffer.from(text, 'utf8')
  const parts = Sender.frame(payload, TEXT)
  return { text, wire: parts.length === 1 ? (parts[0] as Buffer) : Buffer.concat(parts) }
}

/** Several frames in one buffer: one write per socket for a commit batch instead of one per message. */
export function joinWire (frames: readonly OutFrame[]): Buffer {
  if (frames.length === 1) return (frames[0] as OutFrame).wire
  return Buffer.concat(frames.map((f) => f.wire))
}
