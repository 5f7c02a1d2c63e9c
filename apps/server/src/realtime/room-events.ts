import { toMessage, type MessageRow } from '@pan/db'

/**
 * The bus payload of a room. Frames are serialised once, by the replica that produced them,
 * and written as they are to every member socket on every replica.
 *
 * `M<committedAt>` payloads carry stored messages, one per line as `<seq>\t<frame>`, with the epoch
 * ms of their commit (for the fan-out latency metric); `E` payloads carry one live event (stream,
 * presence) as `<excludeConnectionId>\t<frame>`. JSON never contains a raw newline, so lines
 * split cleanly.
 */
export type RoomEvent =
  | { kind: 'messages', committedAt: number, items: Array<{ seq: number, frame: string }> }
  | { kind: 'event', exclude: string, frame: string }

export function encodeMessages (rows: readonly MessageRow[], committedAt = Date.now()): string {
  let out = `M${committedAt}`
  for (const row of rows) out += `\n${row.seq}\t${messageFrame(row)}`
  return out
}

export function messageFrame (row: MessageRow): string {
  return JSON.stringify({ type: 'message', ...toMessage(row) })
}

export function encodeEvent (frame: object, exclude = ''): string {
  return `E${exclude}\t${JSON.stringify(frame)}`
}

export function decodeRoomEvent (payload: string): RoomEvent | undefined {
  if (payload.startsWith('M')) {
    const lines = payload.split('\n')
    const items: Array<{ seq: number, frame: string }> = []
    for (let i = 1; i < lines.length; i++) {
      const line = lines[i] as string
      const tab = line.indexOf('\t')
      if (tab > 0) items.push({ seq: Number(line.slice(0, tab)), frame: line.slice(tab + 1) })
    }
    return { kind: 'messages', committedAt: Number((lines[0] as string).slice(1)) || 0, items }
  }
  if (payload.startsWith('E')) {
    const tab = payload.indexOf('\t')
    if (tab < 0) return undefined
    return { kind: 'event', exclude: payload.slice(1, tab), frame: payload.slice(tab + 1) }
  }
  return undefined
}

/** The `type` of a serialised frame, read without parsing it: producers put `type` first. */
export function frameType (frame: string): string {
  if (!frame.startsWith('{"type":"')) return 'unknown'
  const end = frame.indexOf('"', 9)
  return end > 9 ? frame.slice(9, end) : 'unknown'
}
