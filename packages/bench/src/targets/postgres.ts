import { randomBytes } from 'node:crypto'
import postgres from 'postgres'
import type { ProcessRole } from '../cpu.ts'

/** The Postgres server the bench creates its databases on (CI's and the README's default). */
export const postgresServerUrl = (): string | undefined => {
  const url = process.env.DATABASE_URL
  return url === undefined || url === '' ? undefined : url
}

export interface BenchDatabase {
  name: string
  url: string
  /** The database's backends plus the server's WAL writer, checkpointer and background writer. */
  processes: () => Promise<ProcessRole[]>
  sql: postgres.Sql
  drop: () => Promise<void>
}

/** Creates an empty database `pan_bench_<random>` (PAN migrates it at boot); dropped by `drop()`. */
export async function createDatabase (serverUrl: string): Promise<BenchDatabase> {
  const name = `pan_bench_${randomBytes(5).toString('hex')}`
  const admin = postgres(serverUrl, { max: 1, onnotice: () => {} })
  try {
    await admin.unsafe(`create database ${name}`)
  } finally {
    await admin.end({ timeout: 5 })
  }
  const url = new URL(serverUrl)
  url.pathname = `/${name}`
  return attach(name, url.toString(), async () => {
    const a = postgres(serverUrl, { max: 1, onnotice: () => {} })
    try {
      await a.unsafe(`drop database if exists ${name} with (force)`)
    } finally {
      await a.end({ timeout: 5 })
    }
  })
}

/** Wraps an existing database (e.g. a cluster's) for CPU accounting; `drop` only disconnects. */
export function attach (name: string, url: string, dropIt: () => Promise<void> = async () => {}): BenchDatabase {
  const sql = postgres(url, { max: 1, onnotice: () => {}, idle_timeout: 0 })
  return {
    name,
    url,
    sql,
    processes: async () => {
      const rows = await sql<Array<{ pid: number }>>`
        select pid from pg_stat_activity
        where datname = current_database() or backend_type in ('walwriter', 'checkpointer', 'background writer')`
      return rows.map((r) => ({ role: 'postgres' as const, pid: r.pid }))
    },
    drop: async () => {
      await sql.end({ timeout: 5 })
      await dropIt()
    }
  }
}
