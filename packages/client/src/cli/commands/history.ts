import { COMMON, integer, parse } from '../args.ts'
import { rest, target, type Io } from '../context.ts'
import { messageLine } from '../output.ts'

/** `pan history ROOM`: one page of history, oldest first. */
export async function historyCommand (io: Io, args: string[]): Promise<number> {
  const { values, positionals } = parse(args, {
    ...COMMON,
    after: { type: 'string' },
    before: { type: 'string' },
    limit: { type: 'string' },
    from: { type: 'string' }
  }, { min: 1, max: 1, names: 'a ROOM' })
  const t = target(io, values)
  const page = await rest(t).history(positionals[0] as string, {
    after: integer(values.after, 'after'),
    before: integer(values.before, 'before'),
    limit: integer(values.limit, 'limit'),
    from: values.from
  })
  for (const m of page.items) io.out((t.json ? JSON.stringify(m) : messageLine(m)) + '\n')
  return 0
}
