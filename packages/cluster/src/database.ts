import { spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { fileURLToPath } from 'node:url'
import postgres from 'postgres'

export interface FreshDatabase {
  name: string
  /** The server's URL with the path pointed at the new database. */
  url: string
  /** Drops it, disconnecting whoever is still connected. */
  drop: () => Promise<void>
  /** The same, blocking, for a process 'exit' listener (where nothing async runs): via a child node. */
  dropSync: () => void
}

/**
 * Creates an empty database `pan_cluster_<random>` on the server that `serverUrl` names. Empty on
 * purpose: the replicas migrate it themselves at boot, as they do in production.
 */
export async function createFreshDatabase (serverUrl: string): Promise<FreshDatabase> {
  const name = `pan_cluster_${randomBytes(6).toString('hex')}`
  await withAdmin(serverUrl, async (sql) => { await sql.unsafe(`create database ${name}`) })
  const url = new URL(serverUrl)
  url.pathname = `/${name}`
  return {
    name,
    url: url.toString(),
    drop: async () => {
      await withAdmin(serverUrl, async (sql) => { await sql.unsafe(`drop database if exists ${name} with (force)`) })
    },
    dropSync: () => {
      spawnSync(process.execPath, ['--input-type=module', '--eval', DROP_SCRIPT], {
        cwd: packageDir, // where `postgres` resolves from
        env: { PATH: process.env.PATH, PAN_DROP_URL: serverUrl, PAN_DROP_NAME: name },
        stdio: 'ignore',
        timeout: 10_000
      })
    }
  }
}

const packageDir = fileURLToPath(new URL('..', import.meta.url))
const DROP_SCRIPT = `
import postgres from 'postgres'
const sql = postgres(process.env.PAN_DROP_URL, { max: 1, onnotice: () => {} })
await sql.unsafe('drop database if exists ' + process.env.PAN_DROP_NAME + ' with (force)')
await sql.end({ timeout: 5 })
`

async function withAdmin (serverUrl: string, fn: (sql: postgres.Sql) => Promise<void>): Promise<void> {
  const sql = postgres(serverUrl, { max: 1, onnotice: () => {}, connect_timeout: 10 })
  try {
    await fn(sql)
  } finally {
    await sql.end({ timeout: 5 })
  }
}
