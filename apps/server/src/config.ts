import envSchema from 'env-schema'
import { Type, type Static } from 'typebox'

/**
 * Every setting of a PAN replica, read from the environment only and validated at boot. This is
 * the only module that reads `process.env`.
 */
export const ConfigSchema = Type.Object({
  /** HTTP and WebSocket port. */
  PORT: Type.Integer({ minimum: 0, maximum: 65535, default: 3000 }),
  /** Interface to listen on; containers need 0.0.0.0. */
  HOST: Type.String({ minLength: 1, default: '127.0.0.1' }),
  /** Postgres URL (cluster mode). Unset: embedded PGlite under PAN_DATA_DIR. */
  DATABASE_URL: Type.Optional(Type.String({ pattern: '^postgres(ql)?://' })),
  /** Redis URL for the cluster bus. Unset: the in-process bus. */
  REDIS_URL: Type.Optional(Type.String({ pattern: '^rediss?://' })),
  /** HS256 secret. In embedded mode without one, a secret is generated into PAN_DATA_DIR. */
  JWT_SECRET: Type.Optional(Type.String({ minLength: 32 })),
  /** PEM public key for RS256/ES256 tokens. */
  JWT_PUBLIC_KEY: Type.Optional(Type.String({ minLength: 1 })),
  /** PEM private key, only for `pan token` with RS256/ES256. */
  JWT_PRIVATE_KEY: Type.Optional(Type.String({ minLength: 1 })),
  /** The one accepted signing algorithm. */
  JWT_ALGORITHM: Type.Enum(['HS256', 'RS256', 'ES256'], { default: 'HS256' }),
  /**
   * Whether this replica applies migrations at boot (under an advisory lock, so replicas may boot
   * together). false: wait until another process (the migration Job) has applied them.
   */
  PAN_MIGRATE: Type.Boolean({ default: true }),
  /** Folder of the SQL migrations. Default: the repository's `drizzle/`. */
  PAN_MIGRATIONS_DIR: Type.Optional(Type.String({ minLength: 1 })),
  /** Embedded-mode data directory (PGlite files, generated dev secret). */
  PAN_DATA_DIR: Type.String({ minLength: 1, default: './data' }),
  LOG_LEVEL: Type.Enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], { default: 'info' }),
  /**
   * Proxies whose X-Forwarded-For is believed (Fastify `trustProxy`): comma-separated addresses or
   * CIDRs, e.g. the load balancer's. Unset: the socket's peer is the client.
   */
  PAN_TRUST_PROXY: Type.Optional(Type.String({ minLength: 1 })),
  /** Name of this replica in `hello` and `/v1/stats`. Default: random. */
  PAN_REPLICA_ID: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
  /** Largest WebSocket frame accepted, bytes; larger closes the socket with 1009. */
  PAN_MAX_FRAME_BYTES: Type.Integer({ minimum: 1024, maximum: 16 * 1024 * 1024, default: 65536 }),
  /** Sends per second per user across all connections (token bucket, burst = rate). */
  PAN_SEND_PER_SEC: Type.Number({ exclusiveMinimum: 0, maximum: 100000, default: 100 }),
  /** Stream deltas per second per user. */
  PAN_DELTAS_PER_SEC: Type.Number({ exclusiveMinimum: 0, maximum: 100000, default: 200 }),
  /** Open WebSocket connections per user across all replicas; one more is closed with 4009. */
  PAN_CONNECTIONS_PER_USER: Type.Integer({ minimum: 1, maximum: 10000, default: 20 }),
  /** Bytes a socket may have queued before it is cut as a slow consumer (1012). */
  PAN_OUTBOUND_BUFFER_BYTES: Type.Integer({ minimum: 1024, maximum: 1024 * 1024 * 1024, default: 1024 * 1024 }),
  /** WebSocket ping interval; a connection missing two pongs is closed. */
  PAN_HEARTBEAT_MS: Type.Integer({ minimum: 100, maximum: 600000, default: 30000 }),
  /** A stream silent this long is stored as interrupted. */
  PAN_STREAM_IDLE_MS: Type.Integer({ minimum: 100, maximum: 3600000, default: 60000 }),
  /** REST requests per minute per user (and per IP before auth). */
  PAN_REST_PER_MIN: Type.Integer({ minimum: 1, maximum: 10000000, default: 3000 }),
  /** Group commit: the longest a send waits for companions, ms. */
  PAN_BATCH_WAIT_MS: Type.Integer({ minimum: 0, maximum: 1000, default: 2 }),
  /** Group commit: most messages in one transaction. */
  PAN_BATCH_MAX: Type.Integer({ minimum: 1, maximum: 10000, default: 500 }),
  /**
   * Group commit: commits in flight at once on Postgres (rooms are spread over this many lanes).
   * Default 1; PGlite runs one query at a time and always uses 1.
   */
  PAN_COMMIT_LANES: Type.Optional(Type.Integer({ minimum: 1, maximum: 64 })),
  /**
   * How often each room's head in the database is compared with what this replica delivered, ms:
   * the bound on how long a payload lost by the bus stays undelivered (two checks at most).
   */
  PAN_CATCHUP_MS: Type.Integer({ minimum: 50, maximum: 60000, default: 1000 }),
  /** Graceful drain window on SIGTERM, ms. */
  PAN_DRAIN_MS: Type.Integer({ minimum: 0, maximum: 600000, default: 10000 })
})

export type Env = Static<typeof ConfigSchema>

export interface Config extends Env {
  /** Embedded (PGlite) or cluster (Postgres) storage. */
  mode: 'embedded' | 'cluster'
}

/**
 * Validates the environment, failing fast with a message that names the bad variable.
 * `dotenv` is off: operators and tests configure PAN by environment alone.
 */
export function loadConfig (env: Record<string, string | undefined> = process.env): Config {
  const data = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''))
  let parsed: Env
  try {
    parsed = envSchema<Env>({ schema: ConfigSchema, data, env: false, dotenv: false })
  } catch (err) {
    throw new ConfigError((err as Error).message.replaceAll('env/', '').replaceAll('env ', ''))
  }
  if (parsed.JWT_ALGORITHM !== 'HS256' && parsed.JWT_PUBLIC_KEY === undefined) {
    throw new ConfigError(`JWT_PUBLIC_KEY is required when JWT_ALGORITHM is ${parsed.JWT_ALGORITHM}`)
  }
  if (parsed.JWT_ALGORITHM === 'HS256' && parsed.JWT_PUBLIC_KEY !== undefined) {
    throw new ConfigError('JWT_PUBLIC_KEY is set but JWT_ALGORITHM is HS256: set JWT_ALGORITHM to RS256 or ES256')
  }
  const mode = parsed.DATABASE_URL === undefined ? 'embedded' : 'cluster'
  if (mode === 'cluster' && parsed.JWT_ALGORITHM === 'HS256' && parsed.JWT_SECRET === undefined) {
    throw new ConfigError('JWT_SECRET is required when DATABASE_URL is set (a generated dev secret is for embedded mode only)')
  }
  if (mode === 'embedded' && parsed.REDIS_URL !== undefined) {
    // Replicas sharing a bus but each with its own PGlite would hand out the same seqs twice.
    throw new ConfigError('REDIS_URL needs DATABASE_URL: replicas on the Redis bus must share one Postgres database')
  }
  return { ...parsed, mode }
}

export class ConfigError extends Error {
  override name = 'ConfigError'
}
