import type { Database } from './database.ts'

/** The two drivers drizzle wraps, as far as running statements goes. */
interface PostgresJsClient {
  unsafe: (text: string, params: unknown[], options: { prepare: boolean }) => PromiseLike<unknown[]>
  begin: <T>(fn: (sql: PostgresJsClient) => Promise<T>) => PromiseLike<T>
}
interface PgliteClient {
  query: (text: string, params: unknown[]) => Promise<{ rows: unknown[] }>
  transaction: <T>(fn: (tx: Pick<PgliteClient, 'query'>) => Promise<T>) => Promise<T>
}

/** Runs one statement of fixed text; see `rawQuery`. */
export type RawQuery = <Row>(text: string, params: unknown[]) => Promise<Row[]>

/**
 * Runs one statement of fixed text on the driver under drizzle. drizzle never names its statements,
 * so postgres.js describes each parameterised query before running it (two round trips) and plans
 * it every time; here postgres.js prepares the text once per connection and then sends only
 * Bind/Execute (one round trip). PGlite has no statement cache: it is a plain query there.
 * Values are not mapped: int8 arrives as a string (postgres.js) or a number, timestamps as the
 * driver chooses; select plain types (text, int4, int8 read with `Number`, bool).
 */
export async function rawQuery<Row> (db: Database, text: string, params: unknown[]): Promise<Row[]> {
  const client = clientOf(db)
  return isPostgresJs(client) ? await postgresJsQuery<Row>(client, text, params) : await pgliteQuery<Row>(client, text, params)
}

/** Runs `fn` in one transaction, its statements on the transaction's connection (as `rawQuery`). */
export async function rawTransaction<T> (db: Database, fn: (query: RawQuery) => Promise<T>): Promise<T> {
  const client = clientOf(db)
  if (isPostgresJs(client)) return await client.begin(async (sql) => await fn(async (text, params) => await postgresJsQuery(sql, text, params)))
  return await client.transaction(async (tx) => await fn(async (text, params) => await pgliteQuery(tx, text, params)))
}

async function postgresJsQuery<Row> (client: Pick<PostgresJsClient, 'unsafe'>, text: string, params: unknown[]): Promise<Row[]> {
  return await client.unsafe(text, params, { prepare: true }) as Row[]
}

async function pgliteQuery<Row> (client: Pick<PgliteClient, 'query'>, text: string, params: unknown[]): Promise<Row[]> {
  return (await client.query(text, params)).rows as Row[]
}

function clientOf (db: Database): PostgresJsClient | PgliteClient {
  const client = (db as unknown as { $client: unknown }).$client
  if (isPostgresJs(client) || isPglite(client)) return client
  throw new Error('rawQuery: the database was not opened by openDatabase (no postgres.js or PGlite client)')
}

function isPostgresJs (client: unknown): client is PostgresJsClient {
  return typeof (client as Partial<PostgresJsClient> | undefined)?.unsafe === 'function'
}

function isPglite (client: unknown): client is PgliteClient {
  return typeof (client as Partial<PgliteClient> | undefined)?.query === 'function'
}

/** The SQLSTATE of a driver error (both drivers put it in `code`), if any. */
export function sqlState (err: unknown): string | undefined {
  const code = (err as { code?: unknown } | undefined)?.code
  return typeof code === 'string' ? code : undefined
}

/** The column a constraint error names: postgres.js says `column_name`, PGlite (pg-protocol) `column`. */
export function errorColumn (err: unknown): string | undefined {
  const e = err as { column_name?: unknown, column?: unknown } | undefined
  const column = e?.column_name ?? e?.column
  return typeof column === 'string' ? column : undefined
}
