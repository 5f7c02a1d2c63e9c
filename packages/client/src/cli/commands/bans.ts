import { COMMON, parse } from '../args.ts'
import { rest, target, type Io } from '../context.ts'
import { banLine } from '../output.ts'
import { UsageError } from '../usage.ts'

/** `pan ban USER [--room ROOM] [--reason TEXT] [--expires ISO8601]`. */
export async function banCommand (io: Io, args: string[]): Promise<number> {
  const { values, positionals } = parse(args, {
    ...COMMON,
    room: { type: 'string' },
    reason: { type: 'string' },
    expires: { type: 'string' }
  }, { min: 1, max: 1, names: 'a USER' })
  if (values.expires !== undefined && Number.isNaN(Date.parse(values.expires))) throw new UsageError('--expires must be an ISO 8601 time, e.g. 2030-01-01T00:00:00Z')
  const t = target(io, values)
  const ban = await rest(t).ban({
    user: positionals[0] as string,
    ...(values.room === undefined ? {} : { room: values.room }),
    ...(values.reason === undefined ? {} : { reason: values.reason }),
    ...(values.expires === undefined ? {} : { expiresAt: new Date(values.expires).toISOString() })
  })
  io.out((t.json ? JSON.stringify(ban) : `banned ${banLine(ban)}`) + '\n')
  return 0
}

/** `pan unban BAN_ID`. */
export async function unbanCommand (io: Io, args: string[]): Promise<number> {
  const { values, positionals } = parse(args, COMMON, { min: 1, max: 1, names: 'a BAN_ID' })
  const t = target(io, values)
  const id = positionals[0] as string
  await rest(t).unban(id)
  io.out((t.json ? JSON.stringify({ id, lifted: true }) : `lifted ban ${id}`) + '\n')
  return 0
}

/** `pan bans [--room ROOM] [--user USER] [--active true|false]`. */
export async function bansCommand (io: Io, args: string[]): Promise<number> {
  const { values } = parse(args, { ...COMMON, room: { type: 'string' }, user: { type: 'string' }, active: { type: 'string' } }, { min: 0, max: 0, names: '' })
  if (values.active !== undefined && values.active !== 'true' && values.active !== 'false') throw new UsageError('--active must be true or false')
  const t = target(io, values)
  const api = rest(t)
  const query = {
    limit: 500,
    ...(values.room === undefined ? {} : { room: values.room }),
    ...(values.user === undefined ? {} : { user: values.user }),
    ...(values.active === undefined ? {} : { active: values.active === 'true' })
  }
  let page = await api.listBans(query)
  for (;;) {
    for (const b of page.items) io.out((t.json ? JSON.stringify(b) : banLine(b)) + '\n')
    if (page.nextCursor === null) break
    page = await api.listBans({ cursor: page.nextCursor })
  }
  return 0
}
