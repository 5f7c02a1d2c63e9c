import { toMessage, type MessageRow } from '@pan/db'

/**
 * The bus payload of a room. Frames are serialised once, by the replica that produced them,
 * and written as they are to every member socket on every replica.
 *
 * Every payload starts with its kind and `<origin>:`, the publishing hub's id, so that a hub that
 * already delivered its own payloads locally can drop them when the bus brings them back unread.
 * `M<origin>:<committedAt>` payloads carry stored messages, one per line as `<seq>\t<frame>`, with
 * the epoch ms of their commit (for the fan-out latency metric); `E<origin>:` payloads carry one
 * live event (stream, presence) as `<excludeConnectionId>\t<frame>`. JSON never contains a raw
 * newline, so lines split cleanly.
 */
export type RoomEvent =
  | { kind: 'messages', origin: string, committedAt: number, items: MessageItem[] }
  | { kind: 'event', origin: string, exclude: string, frame: string }

/** A stored message as the bus carries it: its seq and its serialised `message` frame. */
export interface MessageItem { seq: number, frame: string }

export const messageItem = (row: MessageRow): MessageItem => ({ seq: row.seq, frame: messageFrame(row) })

export function encodeMessages (items: readonly MessageItem[], origin: string, committedAt: number): string {
  let out = `M${origin}:${committedAt}`
  for (const item of items) out += `\n${item.seq}\t${item.frame}`
  return out
}

export function messageFrame (row: MessageRow): string {
  return JSON.stringify({ type: 'message', ...toMessage(row) })
}

export function encodeEvent (frameText: string, origin: string, exclude: string): string {
  return `E${origin}:${exclude}\t${frameText}`
}

/** Whether the payload was published by the hub with this origin id (which has no `:`). */
export const publishedBy = (payload: string, origin: string): boolean =>
  payload.charCodeAt(origin.length + 1) === 58 /* : */ && payload.startsWith(origin, 1)

export function decodeRoomEvent (payload: string): RoomEvent | undefined {
  const colon = payload.indexOf(':')
  if (colon < 1) return undefined
  const origin = payload.slice(1, colon)
  if (payload.startsWith('M')) {
    const lines = payload.split('\n')
    const items: MessageItem[] = []
    for (let i = 1; i < lines.length; i++) {
      const line = lines[i] as string
      const tab = line.indexOf('\t')
      if (tab > 0) items.push({ seq: Number(line.slice(0, tab)), frame: line.slice(tab + 1) })
    }
    return { kind: 'messages', origin, committedAt: Number((lines[0] as string).slice(colon + 1)) || 0, items }
  }
  if (payload.startsWith('E')) {
    const tab = payload.indexOf('\t', colon)
    if (tab < 0) return undefined
    return { kind: 'event', origin, exclude: payload.slice(colon + 1, tab), frame: payload.slice(tab + 1) }
  }
  return undefined
}

/** The `type` of a serialised frame, read without parsing it: producers put `type` first. */
export function frameType (frame: string): string {
  if (!frame.startsWith('{"type":"')) return 'unknown'
  const end = frame.indexOf('"', 9)
  return end > 9 ? frame.slice(9, end) : 'unknown'
}
