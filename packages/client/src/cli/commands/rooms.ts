import type { Room } from '@pan/protocol'
import { COMMON, jsonObject, parse } from '../args.ts'
import { rest, target, type Io } from '../context.ts'
import { roomLine } from '../output.ts'
import { UsageError } from '../usage.ts'

/** `pan rooms [list|create|close]`. */
export async function roomsCommand (io: Io, args: string[]): Promise<number> {
  const [sub = 'list', ...rest_] = args[0]?.startsWith('-') === true ? ['list', ...args] : args
  if (sub === 'list') return await list(io, rest_)
  if (sub === 'create') return await create(io, rest_)
  if (sub === 'close') return await close(io, rest_)
  throw new UsageError(`unknown rooms command ${sub} (list, create or close)`)
}

async function list (io: Io, args: string[]): Promise<number> {
  const { values } = parse(args, { ...COMMON, all: { type: 'boolean', default: false } }, { min: 0, max: 0, names: '' })
  const t = target(io, values)
  const api = rest(t)
  let page = await api.listRooms({ includeClosed: values.all, limit: 500 })
  const rooms: Room[] = [...page.items]
  while (page.nextCursor !== null) {
    page = await api.listRooms({ cursor: page.nextCursor })
    rooms.push(...page.items)
  }
  for (const r of rooms) io.out((t.json ? JSON.stringify(r) : roomLine(r)) + '\n')
  if (!t.json && rooms.length === 0) io.err('no rooms\n')
  return 0
}

async function create (io: Io, args: string[]): Promise<number> {
  const { values, positionals } = parse(args, {
    ...COMMON,
    name: { type: 'string' },
    private: { type: 'boolean', default: false },
    config: { type: 'string' }
  }, { min: 1, max: 1, names: 'a room ID' })
  const id = positionals[0] as string
  const t = target(io, values)
  const config = jsonObject(values.config, 'config')
  const room = await rest(t).createRoom({
    id,
    name: values.name ?? id,
    visibility: values.private ? 'private' : 'public',
    ...(config === undefined ? {} : { config })
  })
  io.out((t.json ? JSON.stringify(room) : `created ${roomLine(room)}`) + '\n')
  return 0
}

async function close (io: Io, args: string[]): Promise<number> {
  const { values, positionals } = parse(args, COMMON, { min: 1, max: 1, names: 'a room ID' })
  const id = positionals[0] as string
  const t = target(io, values)
  await rest(t).closeRoom(id)
  io.out((t.json ? JSON.stringify({ room: id, closed: true }) : `closed room ${id}`) + '\n')
  return 0
}
