import type { Role } from '@pan/protocol'
import { ROLES, USER_ID_RE } from '../../codes.ts'
import { parse } from '../args.ts'
import type { Io } from '../context.ts'
import { parseTtl, signJwt, signingKeyFromEnv } from '../jwt.ts'
import { UsageError } from '../usage.ts'

/** `pan token`: mints a token locally with the key the server verifies with. Prints only the token. */
export async function tokenCommand (io: Io, args: string[]): Promise<number> {
  const { values } = parse(args, {
    sub: { type: 'string' },
    role: { type: 'string', default: 'agent' },
    ttl: { type: 'string', default: '1h' },
    name: { type: 'string' }
  }, { min: 0, max: 0, names: '' })
  if (values.sub === undefined || !USER_ID_RE.test(values.sub)) throw new UsageError('--sub is required: 1..64 chars of [A-Za-z0-9._:-]')
  if (!(ROLES as readonly string[]).includes(values.role)) throw new UsageError(`--role must be one of ${ROLES.join(', ')}`)
  const ttl = parseTtl(values.ttl)
  if (ttl === null) throw new UsageError('--ttl must look like 3600, 30m, 1h or 7d')
  const key = signingKeyFromEnv(io.env)
  const claims = { sub: values.sub, role: values.role as Role, ...(values.name === undefined ? {} : { name: values.name }) }
  io.out(signJwt(key, claims, ttl) + '\n')
  return 0
}
