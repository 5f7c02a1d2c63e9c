import closeWithGrace from 'close-with-grace'
import { Redis } from 'ioredis'
import { MemoryBus, RedisBus, type Bus } from '@pan/bus'
import { openDatabase, type DatabaseHandle } from '@pan/db'
import { buildApp } from './app.ts'
import { ConfigError, loadConfig } from './config.ts'
import { createLogger, type Logger } from './logger.ts'
import { resolveJwtKeys } from './secrets.ts'
import { signToken } from './tokens.ts'
import { join, resolve } from 'node:path'

/** Boots one replica from the environment: logger, database, bus, app, listen, graceful close. */
async function main (): Promise<void> {
  let config
  try {
    config = loadConfig()
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`pan: invalid configuration: ${err.message}\n`)
      process.exit(2)
    }
    throw err
  }
  const keys = resolveJwtKeys(config)
  const log = createLogger(config.LOG_LEVEL)
  const migrations = config.PAN_MIGRATIONS_DIR === undefined ? {} : { migrationsFolder: resolve(config.PAN_MIGRATIONS_DIR) }
  const database = await openDatabase(config.mode === 'cluster'
    ? { url: config.DATABASE_URL, ...migrations }
    : { dataDir: join(resolve(config.PAN_DATA_DIR), 'pglite'), ...migrations })
  if (config.PAN_MIGRATE) await database.migrate()
  else await waitForSchema(database, log)
  const replicaId = config.PAN_REPLICA_ID === undefined ? {} : { replicaId: config.PAN_REPLICA_ID }
  let bus: Bus
  let rateLimitRedis: Redis | undefined
  if (config.REDIS_URL === undefined) {
    bus = new MemoryBus(replicaId)
  } else {
    bus = await RedisBus.connect({ url: config.REDIS_URL, ...replicaId, logger: log.child({ component: 'bus' }) })
    rateLimitRedis = new Redis(config.REDIS_URL, { connectionName: 'pan-rate-limit', maxRetriesPerRequest: 1, commandTimeout: 1000 })
    // The bus already reports an outage; without a listener ioredis prints every failed reconnect.
    rateLimitRedis.on('error', (err: unknown) => { log.debug({ err }, 'rate-limit Redis connection error') })
  }
  const app = await buildApp({ config, database, bus, keys, loggerInstance: log, ...(rateLimitRedis === undefined ? {} : { rateLimitRedis }) })
  // After app.close(), not in an onClose hook: Fastify runs those in reverse order of addition, so
  // the bus and database would close before the core flushes its last commit batch.
  const closeAll = async (): Promise<void> => {
    await app.close()
    await bus.close()
    rateLimitRedis?.disconnect()
    await database.close()
  }

  closeWithGrace({ delay: config.PAN_DRAIN_MS + 10_000 }, async ({ signal, err }) => {
    if (err !== undefined) app.log.error({ err }, 'closing after an error')
    app.log.info({ signal }, 'draining')
    await app.core.gateway.drain(config.PAN_DRAIN_MS)
    await closeAll()
  })

  const address = await app.listen({ port: config.PORT, host: config.HOST })
  if (keys.generated && keys.signKey !== undefined) {
    const token = signToken(keys, { sub: 'admin', role: 'admin', name: 'Admin' }, 30 * 24 * 3600)
    const wsUrl = address.replace(/^http/, 'ws')
    process.stdout.write([
      '',
      `PAN is running (embedded mode, data in ${resolve(config.PAN_DATA_DIR)})`,
      `  REST      ${address}/v1`,
      `  WebSocket ${wsUrl}/v1/ws`,
      `  API docs  ${address}/docs`,
      '  Admin token (dev secret, valid 30 days):',
      `  ${token}`,
      ''
    ].join('\n') + '\n')
  }
}

/** Polls until the migration Job has brought the schema up to this build's migrations. */
async function waitForSchema (database: DatabaseHandle, log: Logger): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    const current = await database.isSchemaCurrent().catch((err: unknown) => {
      log.warn({ err }, 'checking the schema failed')
      return false
    })
    if (current) return
    if (attempt % 10 === 0) log.info('waiting for migrations to be applied (PAN_MIGRATE=false)')
    await new Promise((resolve) => setTimeout(resolve, 1000))
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`pan: failed to start: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`)
  process.exit(1)
})
