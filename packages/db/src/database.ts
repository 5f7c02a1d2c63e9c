import { mkdirSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core'
import { sql } from 'drizzle-orm'
import * as schema from './schema/index.ts'

export type Schema = typeof schema
/** The Drizzle database, whichever driver is behind it: queries are written once against this. */
export type Database = PgDatabase<PgQueryResultHKT, Schema>

export interface DatabaseOptions {
  /** A Postgres URL; when absent, PGlite is used under `dataDir`. */
  url?: string | undefined
  /** PGlite data directory (embedded mode). Omitted with no `url`: an in-memory database. */
  dataDir?: string | undefined
  /** Connections in the postgres.js pool. Default 10. */
  poolSize?: number
  /** Folder of drizzle-kit migrations. Default: the repo's `drizzle/`. */
  migrationsFolder?: string
}

export interface DatabaseHandle {
  db: Database
  kind: 'postgres' | 'pglite'
  /** Applies pending migrations; under a Postgres advisory lock so that replicas may boot together. */
  migrate: () => Promise<void>
  /** Whether every migration in the migrations folder has been applied (replicas that do not migrate wait for this). */
  isSchemaCurrent: () => Promise<boolean>
  /** Throws unless the database answers a trivial query. */
  ping: () => Promise<void>
  close: () => Promise<void>
}

/** Arbitrary but fixed: every PAN replica takes this advisory lock around migrations. */
const MIGRATION_LOCK_KEY = 7_253_311_020

/** How often embedded mode refreshes planner statistics, ms. ANALYZE samples at most 30k rows a table. */
const PGLITE_ANALYZE_MS = 5 * 60_000

export const defaultMigrationsFolder = fileURLToPath(new URL('../../../drizzle', import.meta.url))

export async function openDatabase (options: DatabaseOptions): Promise<DatabaseHandle> {
  const migrationsFolder = options.migrationsFolder ?? defaultMigrationsFolder
  const driver = options.url !== undefined && options.url !== ''
    ? await openPostgres(options.url, options.poolSize ?? 10, migrationsFolder)
    : await openPglite(options.dataDir, migrationsFolder)
  const { db } = driver
  return {
    ...driver,
    isSchemaCurrent: async () => await schemaCurrent(db, migrationsFolder),
    async ping () { await db.execute(sql`select 1`) }
  }
}

/** What differs between the two drivers; `openDatabase` adds the rest. */
type Driver = Pick<DatabaseHandle, 'db' | 'kind' | 'migrate' | 'close'>

async function openPostgres (url: string, poolSize: number, migrationsFolder: string): Promise<Driver> {
  const { default: postgres } = await import('postgres')
  const { drizzle } = await import('drizzle-orm/postgres-js')
  const client = postgres(url, { max: poolSize, onnotice: () => {} })
  const db = drizzle({ client, schema }) as unknown as Database
  return {
    db,
    kind: 'postgres',
    async migrate () {
      const { migrate } = await import('drizzle-orm/postgres-js/migrator')
      // The migrator wants one connection; the lock must be held on that same connection.
      const lockClient = postgres(url, { max: 1, onnotice: () => {} })
      try {
        await lockClient`select pg_advisory_lock(${MIGRATION_LOCK_KEY})`
        try {
          const before = await appliedCount(lockClient)
          await migrate(drizzle({ client: lockClient }), { migrationsFolder })
          // Fresh tables get statistics at once; autovacuum keeps them up from there. Without them
          // the planner guesses index choices (docs/benchmarks.md, profile finding 1).
          if (await appliedCount(lockClient) !== before) await lockClient`analyze`
        } finally {
          await lockClient`select pg_advisory_unlock(${MIGRATION_LOCK_KEY})`
        }
      } finally {
        await lockClient.end()
      }
    },
    async close () { await client.end({ timeout: 5 }) }
  }
}

async function openPglite (dataDir: string | undefined, migrationsFolder: string): Promise<Driver> {
  const { PGlite } = await import('@electric-sql/pglite')
  const { drizzle } = await import('drizzle-orm/pglite')
  if (dataDir !== undefined) mkdirSync(dataDir, { recursive: true })
  const client = await PGlite.create(dataDir === undefined ? {} : { dataDir })
  const db = drizzle({ client, schema }) as unknown as Database
  // PGlite has no autovacuum: without this its statistics are those of the last migration forever.
  const analyzer = setInterval(() => {
    client.exec('analyze').catch(() => {}) // a failed run only keeps the older statistics
  }, PGLITE_ANALYZE_MS).unref()
  return {
    db,
    kind: 'pglite',
    async migrate () {
      const { migrate } = await import('drizzle-orm/pglite/migrator')
      // One process owns a PGlite data dir, so no lock is needed.
      await migrate(drizzle({ client }), { migrationsFolder })
      await client.exec('analyze')
    },
    async close () {
      clearInterval(analyzer)
      await client.close()
    }
  }
}

/** How many migrations drizzle has recorded as applied (0 before the first). */
async function appliedCount (client: import('postgres').Sql): Promise<number> {
  const [table] = await client<Array<{ found: string | null }>>`select to_regclass('drizzle.__drizzle_migrations')::text as found`
  if (table?.found == null) return 0
  const [row] = await client<Array<{ n: number }>>`select count(*)::int as n from drizzle.__drizzle_migrations`
  return row?.n ?? 0
}

/** Compares the hashes drizzle recorded as applied with the migrations on disk. */
async function schemaCurrent (db: Database, migrationsFolder: string): Promise<boolean> {
  const { readMigrationFiles } = await import('drizzle-orm/migrator')
  const wanted = readMigrationFiles({ migrationsFolder }).map((m) => m.hash)
  const exists = await db.execute(sql`select to_regclass('drizzle.__drizzle_migrations')::text as found`)
  if (rowsOf<{ found: string | null }>(exists)[0]?.found == null) return wanted.length === 0
  const applied = new Set(rowsOf<{ hash: string }>(await db.execute(sql`select hash from drizzle.__drizzle_migrations`)).map((r) => r.hash))
  return wanted.every((hash) => applied.has(hash))
}

/** postgres.js returns the rows; PGlite returns `{ rows }`. */
function rowsOf<T> (result: unknown): T[] {
  return Array.isArray(result) ? result as T[] : (result as { rows: T[] }).rows
}
