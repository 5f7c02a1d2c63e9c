import type { Test } from 'tap'
import { Agent, startCluster, type AgentOptions, type Cluster, type ClusterOptions } from '../src/index.ts'

// The harness needs a real Postgres server. Locally, no DATABASE_URL means skip; in CI, where
// .ci/run always sets it, a missing one is a broken pipeline and must not pass as a skip.
const databaseUrl = process.env.DATABASE_URL ?? ''
if (databaseUrl === '' && process.env.CI !== undefined && process.env.CI !== '') {
  throw new Error('DATABASE_URL is not set, but CI is: the cluster tests cannot run')
}
export const skip = databaseUrl === '' ? 'DATABASE_URL is not set (the cluster harness needs a Postgres server)' : false

/** Starts a cluster stopped at teardown; when the test failed, its logs are kept and their tails printed. */
export async function cluster (t: Test, options: ClusterOptions): Promise<Cluster> {
  const c = await startCluster(options)
  t.teardown(async () => {
    const failed = !t.passing()
    if (failed) t.comment(`cluster logs kept in ${c.dir}\n${c.logTails()}`)
    await c.stop({ keepLogs: failed })
  })
  return c
}

/** An agent closed at teardown. */
export async function agent (t: Test, options: AgentOptions): Promise<Agent> {
  const a = new Agent(options)
  t.teardown(async () => { await a.close() })
  return a
}

/**
 * An agent connected through nginx that landed on `replica`. least_conn sends a new socket to the
 * replica with the fewest, so a few tries suffice; the misses are closed. A replica nginx saw fail
 * is left out for its fail_timeout (2 s), hence the pause between tries.
 */
export async function agentOn (t: Test, c: Cluster, replica: string, sub: string, options: Partial<AgentOptions> = {}): Promise<Agent> {
  for (let attempt = 0; attempt < 20; attempt++) {
    if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, 250))
    const a = new Agent({ url: c.wsUrl, token: c.token(sub, 'agent', sub), ca: c.ca, ...options })
    await a.connect()
    if (a.replica === replica) {
      t.teardown(async () => { await a.close() })
      return a
    }
    await a.close()
  }
  throw new Error(`no socket landed on ${replica} through nginx in 20 tries`)
}

export async function createRoom (c: Cluster, id: string): Promise<void> {
  const res = await c.http('POST', '/v1/rooms', { as: 'admin', role: 'admin', body: { id, name: id, visibility: 'public' } })
  if (res.status !== 201) throw new Error(`room ${id}: ${res.status} ${res.text}`)
}

/** The room's latest seq, read through the cluster. */
export async function roomHead (c: Cluster, room: string): Promise<number> {
  const res = await c.http('GET', `/v1/rooms/${room}`, { as: 'admin', role: 'admin' })
  if (res.status !== 200) throw new Error(`room ${room}: ${res.status} ${res.text}`)
  return (res.body as { lastSeq: number }).lastSeq
}

export const range = (from: number, to: number): number[] => Array.from({ length: Math.max(0, to - from + 1) }, (_, i) => from + i)
