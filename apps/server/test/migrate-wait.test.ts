import t from 'tap'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { join } from 'node:path'
import { openDatabase } from '@pan/db'
import { createTestDatabase, emptySchema, testDatabaseKinds } from '@pan/db/testing'
import { TEST_SECRET } from './helpers.ts'

/**
 * In production the migration Job applies the schema and replicas run with PAN_MIGRATE=false:
 * such a replica must not touch the schema, and must not serve until the Job is done.
 */
t.test('a replica with PAN_MIGRATE=false waits for the schema, then serves', { skip: testDatabaseKinds().includes('postgres') ? false : 'DATABASE_URL is not set' }, async (t) => {
  const testDb = await createTestDatabase('postgres')
  t.teardown(async () => { await testDb.destroy() })
  const url = testDb.options.url
  if (url === undefined) throw new Error('a Postgres test database has a url')
  const admin = await openDatabase({ url, poolSize: 1 })
  t.teardown(async () => { await admin.close() })
  // createTestDatabase migrates; empty it again, as before a first deploy.
  await emptySchema(admin)

  const port = 20000 + Math.floor(Math.random() * 20000)
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
    cwd: join(import.meta.dirname, '..'),
    env: { ...process.env, DATABASE_URL: url, REDIS_URL: '', JWT_SECRET: TEST_SECRET, PORT: String(port), LOG_LEVEL: 'warn', PAN_MIGRATE: 'false', PAN_DRAIN_MS: '0' },
    stdio: ['ignore', 'ignore', 'inherit']
  })
  t.teardown(async () => {
    if (child.exitCode === null) {
      child.kill('SIGTERM')
      await once(child, 'exit')
    }
  })
  const ready = async (): Promise<number> => await fetch(`http://127.0.0.1:${port}/readyz`).then((r) => r.status, () => 0)

  await new Promise((resolve) => setTimeout(resolve, 4000))
  t.equal(await ready(), 0, 'not serving while the schema is missing')
  t.equal(await admin.isSchemaCurrent(), false, 'and it did not migrate by itself')

  await admin.migrate() // the Job
  const deadline = Date.now() + 20_000
  let status = 0
  while (status !== 200 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 250))
    status = await ready()
  }
  t.equal(status, 200, 'ready once the migrations are in')
})
