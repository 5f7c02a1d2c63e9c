import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { cpus, loadavg, totalmem } from 'node:os'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'
import postgres from 'postgres'

export interface MachineInfo {
  cpu: string
  cores: number
  memoryGiB: number
  /** 1-minute load average when the run started (other work on the machine shows here). */
  loadavg: string
  node: string
  versions: Record<string, string>
}

const require = createRequire(import.meta.url)
const repoRoot = fileURLToPath(new URL('../../../', import.meta.url))

/** The machine and every version that a figure depends on. */
export async function machineInfo (databaseUrl: string | undefined): Promise<MachineInfo> {
  const versions: Record<string, string> = {
    pan: readJson(`${repoRoot}apps/server/package.json`).version ?? '?',
    ws: pkgVersion('ws'),
    'socket.io': pkgVersion('socket.io'),
    '@socket.io/redis-adapter': pkgVersion('@socket.io/redis-adapter'),
    ioredis: pkgVersion('ioredis')
  }
  try {
    versions['redis-server'] = /v=(\S+)/.exec(execFileSync('/usr/bin/redis-server', ['--version'], { encoding: 'utf8' }))?.[1] ?? '?'
  } catch {
    versions['redis-server'] = 'not found'
  }
  if (databaseUrl !== undefined) {
    const sql = postgres(databaseUrl, { max: 1, onnotice: () => {} })
    try {
      const [row] = await sql<Array<{ v: string, sync: string, fsync: string }>>`
        select current_setting('server_version') as v, current_setting('synchronous_commit') as sync, current_setting('fsync') as fsync`
      versions.postgres = row === undefined ? '?' : `${row.v} (synchronous_commit ${row.sync}, fsync ${row.fsync})`
    } catch {
      versions.postgres = 'unreachable'
    } finally {
      await sql.end({ timeout: 5 })
    }
  }
  try {
    versions.pglite = readJson(`${repoRoot}packages/db/node_modules/@electric-sql/pglite/package.json`).version ?? '?'
  } catch {
    versions.pglite = '?'
  }
  const cpu = cpus()[0]?.model ?? 'unknown'
  return {
    cpu,
    cores: cpus().length,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    loadavg: loadavg().map((l) => l.toFixed(2)).join(' '),
    node: process.versions.node,
    versions
  }
}

function pkgVersion (name: string): string {
  try {
    return readJson(require.resolve(`${name}/package.json`)).version ?? '?'
  } catch {
    return '?'
  }
}

function readJson (file: string): { version?: string } {
  return JSON.parse(readFileSync(file, 'utf8')) as { version?: string }
}
