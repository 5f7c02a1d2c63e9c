import type { Test } from 'tap'
import type { DatabaseHandle } from '../src/index.ts'
import { createTestDatabase, testDatabaseKinds } from '../src/testing.ts'

/** A fresh, migrated database of `kind`, closed and removed when the test ends. */
export async function openTestDatabase (t: Test, kind: 'pglite' | 'postgres'): Promise<DatabaseHandle> {
  const testDb = await createTestDatabase(kind)
  const handle = await testDb.open()
  t.teardown(async () => { await handle.close(); await testDb.destroy() })
  return handle
}

/** Runs `fn` once per database kind under test (PGlite; Postgres too when DATABASE_URL is set). */
export function eachDatabase (t: Test, fn: (t: Test, kind: 'pglite' | 'postgres') => Promise<void>): void {
  for (const kind of testDatabaseKinds()) t.test(kind, async (t) => { await fn(t, kind) })
}
