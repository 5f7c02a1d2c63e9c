import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs'
import { createHash, randomBytes } from 'node:crypto'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { sql } from 'drizzle-orm'
import { defaultMigrationsFolder, openDatabase, type DatabaseHandle } from './database.ts'

/**
 * Test support: fresh, migrated databases. PGlite always; real Postgres too when `DATABASE_URL`
 * is set. PGlite's initdb costs ~3 s and ~800 MB, so one migrated data dir is made per machine
 * and migrations version, then copied for each test.
 */
export interface TestDatabase {
  kind: 'pglite' | 'postgres'
  /** Connection options for `openDatabase`, e.g. to hand to a server under test. */
  options: { url?: string, dataDir?: string }
  open: () => Promise<DatabaseHandle>
  /** Removes the database (drops it, or deletes the data dir). */
  destroy: () => Promise<void>
}

export function testDatabaseKinds (): Array<'pglite' | 'postgres'> {
  const url = process.env.DATABASE_URL
  return url !== undefined && url !== '' ? ['pglite', 'postgres'] : ['pglite']
}

export async function createTestDatabase (kind: 'pglite' | 'postgres'): Promise<TestDatabase> {
  return kind === 'pglite' ? await createPgliteCopy() : await createPostgresDatabase()
}

/** Drops every table and drizzle's bookkeeping: the database of a first deploy, before migrations. */
export async function emptySchema (database: DatabaseHandle): Promise<void> {
  await database.db.execute(sql`drop schema public cascade`)
  await database.db.execute(sql`create schema public`)
  await database.db.execute(sql`drop schema if exists drizzle cascade`)
}

function migrationsHash (): string {
  const hash = createHash('sha256')
  for (const file of readdirSync(defaultMigrationsFolder).sort()) {
    if (file.endsWith('.sql')) hash.update(file).update(readFileSync(join(defaultMigrationsFolder, file)))
  }
  return hash.digest('hex').slice(0, 16)
}

async function pgliteTemplate (): Promise<string> {
  const dir = join(tmpdir(), `pan-pglite-template-${migrationsHash()}`)
  if (existsSync(join(dir, 'PG_VERSION'))) return dir
  // Build beside the final path and rename: concurrent test processes never see half a template.
  const building = `${dir}.building-${process.pid}-${randomBytes(4).toString('hex')}`
  const handle = await openDatabase({ dataDir: building })
  await handle.migrate()
  await handle.close()
  try {
    renameSync(building, dir)
  } catch {
    rmSync(building, { recursive: true, force: true }) // another process won the race
  }
  return dir
}

async function createPgliteCopy (): Promise<TestDatabase> {
  const template = await pgliteTemplate()
  const root = mkdtempSync(join(tmpdir(), 'pan-test-'))
  const dataDir = join(root, 'data')
  mkdirSync(dataDir)
  cpSync(template, dataDir, { recursive: true })
  return {
    kind: 'pglite',
    options: { dataDir },
    open: async () => await openDatabase({ dataDir }),
    destroy: async () => { rmSync(root, { recursive: true, force: true }) }
  }
}

async function createPostgresDatabase (): Promise<TestDatabase> {
  const base = process.env.DATABASE_URL
  if (base === undefined || base === '') throw new Error('DATABASE_URL is not set')
  const name = `pan_test_${process.pid}_${randomBytes(4).toString('hex')}`
  const { default: postgres } = await import('postgres')
  const admin = postgres(base, { max: 1, onnotice: () => {} })
  await admin.unsafe(`create database ${name}`)
  await admin.end()
  const url = new URL(base)
  url.pathname = `/${name}`
  const handle = await openDatabase({ url: url.toString(), poolSize: 2 })
  await handle.migrate()
  await handle.close()
  return {
    kind: 'postgres',
    options: { url: url.toString() },
    open: async () => await openDatabase({ url: url.toString() }),
    destroy: async () => {
      const drop = postgres(base, { max: 1, onnotice: () => {} })
      await drop.unsafe(`drop database if exists ${name} with (force)`)
      await drop.end()
    }
  }
}
