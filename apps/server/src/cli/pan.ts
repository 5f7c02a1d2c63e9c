import { parseArgs } from 'node:util'
import { join, resolve } from 'node:path'
import { openDatabase } from '@pan/db'
import { Roles, USER_ID_RE, type Role } from '@pan/protocol'
import { ConfigError, loadConfig } from '../config.ts'
import { resolveJwtKeys } from '../secrets.ts'
import { signToken } from '../tokens.ts'

const USAGE = `usage:
  pan token --sub ID [--role agent|viewer|admin] [--ttl 1h] [--name NAME]   mint a token with the configured key
  pan migrate                                                                apply database migrations and exit
Configuration comes from the environment, as for the server (JWT_SECRET, DATABASE_URL, PAN_DATA_DIR, ...).`

/** Parses a TTL like 90, 90s, 30m, 1h, 7d into seconds. */
export function parseTtl (text: string): number | null {
  const m = /^(\d+)([smhd]?)$/.exec(text.trim())
  if (m === null) return null
  const unit = { '': 1, s: 1, m: 60, h: 3600, d: 86400 }[m[2] as '' | 's' | 'm' | 'h' | 'd']
  const seconds = Number(m[1]) * unit
  return seconds > 0 ? seconds : null
}

async function main (argv: string[]): Promise<number> {
  const [command, ...rest] = argv
  const config = loadConfig()
  if (command === 'token') {
    const { values } = parseArgs({ args: rest, options: { sub: { type: 'string' }, role: { type: 'string', default: 'agent' }, ttl: { type: 'string', default: '1h' }, name: { type: 'string' } } })
    if (values.sub === undefined || !USER_ID_RE.test(values.sub)) return fail('--sub is required: 1..64 chars of [A-Za-z0-9._:-]')
    if (!(Roles as readonly string[]).includes(values.role)) return fail(`--role must be one of ${Roles.join(', ')}`)
    const ttl = parseTtl(values.ttl)
    if (ttl === null) return fail('--ttl must look like 3600, 30m, 1h or 7d')
    const keys = resolveJwtKeys(config)
    const claims = { sub: values.sub, role: values.role as Role, ...(values.name === undefined ? {} : { name: values.name }) }
    process.stdout.write(signToken(keys, claims, ttl) + '\n')
    return 0
  }
  if (command === 'migrate') {
    const database = await openDatabase(config.mode === 'cluster'
      ? { url: config.DATABASE_URL, poolSize: 1 }
      : { dataDir: join(resolve(config.PAN_DATA_DIR), 'pglite') })
    try {
      await database.migrate()
    } finally {
      await database.close()
    }
    process.stdout.write(`migrations applied (${database.kind})\n`)
    return 0
  }
  process.stderr.write(USAGE + '\n')
  return command === undefined || command === 'help' || command === '--help' ? 0 : 2
}

function fail (message: string): number {
  process.stderr.write(`pan: ${message}\n`)
  return 2
}

main(process.argv.slice(2)).then((code) => { process.exitCode = code }, (err: unknown) => {
  process.stderr.write(`pan: ${err instanceof ConfigError ? `invalid configuration: ${err.message}` : err instanceof Error ? err.message : String(err)}\n`)
  process.exitCode = err instanceof ConfigError ? 2 : 1
})
