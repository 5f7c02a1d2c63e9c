import { COMMON, jsonObject, parse } from '../args.ts'
import { rest, target, type Io } from '../context.ts'
import { ackLine } from '../output.ts'

/**
 * `pan send ROOM TEXT`: one message over REST (the same guarantees as a WebSocket send, and no
 * join, so the room sees no presence flicker). Idempotent by `--id`.
 */
export async function sendCommand (io: Io, args: string[]): Promise<number> {
  const { values, positionals } = parse(args, { ...COMMON, data: { type: 'string' }, id: { type: 'string' } }, { min: 2, max: 2, names: 'ROOM and TEXT' })
  const [room, text] = positionals as [string, string]
  const t = target(io, values)
  const data = jsonObject(values.data, 'data')
  const ack = await rest(t).postMessage(room, { text, ...(data === undefined ? {} : { data }), ...(values.id === undefined ? {} : { id: values.id }) })
  io.out((t.json ? JSON.stringify(ack) : ackLine('sent to', ack)) + '\n')
  return 0
}
