import { COMMON, integer, parse } from '../args.ts'
import { client, target, type Io } from '../context.ts'
import { messageLine } from '../output.ts'

/**
 * `pan tail ROOM`: prints the room's messages as they arrive, through the SDK, so a restart of
 * the server is a pause, not a gap. Runs until Ctrl-C (exit 0), `--count` messages, or a fatal
 * error (kicked, banned: exit 1).
 */
export async function tailCommand (io: Io, args: string[]): Promise<number> {
  const { values, positionals } = parse(args, { ...COMMON, since: { type: 'string' }, count: { type: 'string' } }, { min: 1, max: 1, names: 'a ROOM' })
  const since = integer(values.since, 'since')
  const count = integer(values.count, 'count')
  const t = target(io, values)
  const c = client(t)
  try {
    await c.connect()
    const room = await c.join(positionals[0] as string, since === undefined ? {} : { since })
    room.on('truncated', (r) => { io.err(`pan: messages ${r.from}..${r.to} of ${r.room} are gone (deleted by retention, or not readable by you)\n`) })
    const messages = room.messages()
    io.interrupted.then(async () => { await messages.return?.() }, () => {})
    let n = 0
    for await (const m of messages) {
      io.out((t.json ? JSON.stringify(m) : messageLine(m)) + '\n')
      if (count !== undefined && ++n >= count) break
    }
    return 0
  } finally {
    await c.close()
  }
}
