import type { PresenceMember } from '@pan/protocol'
import { COMMON, parse } from '../args.ts'
import { rest, target, type Io } from '../context.ts'
import { presenceLine } from '../output.ts'

/** `pan presence ROOM`: who is online in the room, across all replicas. */
export async function presenceCommand (io: Io, args: string[]): Promise<number> {
  const { values, positionals } = parse(args, COMMON, { min: 1, max: 1, names: 'a ROOM' })
  const t = target(io, values)
  const api = rest(t)
  const room = positionals[0] as string
  let page = await api.presence(room, { limit: 500 })
  const members: PresenceMember[] = [...page.items]
  while (page.nextCursor !== null) {
    page = await api.presence(room, { cursor: page.nextCursor })
    members.push(...page.items)
  }
  for (const m of members) io.out((t.json ? JSON.stringify(m) : presenceLine(m)) + '\n')
  if (!t.json && members.length === 0) io.err(`nobody is online in ${room}\n`)
  return 0
}
