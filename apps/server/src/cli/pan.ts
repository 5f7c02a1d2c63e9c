import { join, resolve } from 'node:path'
import { openDatabase } from '@pan/db'
import { ConfigError, loadConfig } from '../config.ts'

// Minting tokens moved to the `pan` command of @pan/client (`pnpm pan token`), which signs with
// the same key from the same environment; this entry point keeps what needs the server's code.
const USAGE = `usage:
  pan migrate    apply database migrations and exit
Configuration comes from the environment, as for the server (DATABASE_URL, PAN_DATA_DIR, ...).
For tokens and the other commands, see the pan command of @pan/client (pnpm pan help).`

async function main (argv: string[]): Promise<number> {
  const [command] = argv
  if (command === 'migrate') {
    const config = loadConfig()
    const migrations = config.PAN_MIGRATIONS_DIR === undefined ? {} : { migrationsFolder: resolve(config.PAN_MIGRATIONS_DIR) }
    const database = await openDatabase(config.mode === 'cluster'
      ? { url: config.DATABASE_URL, poolSize: 1, ...migrations }
      : { dataDir: join(resolve(config.PAN_DATA_DIR), 'pglite'), ...migrations })
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

main(process.argv.slice(2)).then((code) => { process.exitCode = code }, (err: unknown) => {
  process.stderr.write(`pan: ${err instanceof ConfigError ? `invalid configuration: ${err.message}` : err instanceof Error ? err.message : String(err)}\n`)
  process.exitCode = err instanceof ConfigError ? 2 : 1
})
