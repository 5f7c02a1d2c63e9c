import type { Cluster } from '../cluster.ts'
import { Agent } from '../agent.ts'
import { withTimeout } from '../wait.ts'
import { Probe } from './probe.ts'
import type { Timeline } from './timeline.ts'

/** Agents connecting (TLS handshake, hello, join) at the same time: enough to be quick, few enough not to time out. */
const CONNECT_CONCURRENCY = 25

/** Creates `count` public rooms over REST (as an admin): `chaos-00`, `chaos-01`, … */
export async function createRooms (cluster: Cluster, count: number): Promise<string[]> {
  const width = String(count - 1).length
  const ids = Array.from({ length: count }, (_, i) => `chaos-${String(i).padStart(width, '0')}`)
  for (const id of ids) {
    const res = await cluster.http('POST', '/v1/rooms', { as: 'chaos-admin', role: 'admin', body: { id, name: id, visibility: 'public' } })
    if (res.status !== 201) throw new Error(`POST /v1/rooms ${id} answered ${res.status}: ${res.text}`)
  }
  return ids
}

/** `count` agents (not yet connected), dealt round-robin over `rooms`, all aimed at nginx (wss, the cluster CA). */
export function createProbes (cluster: Cluster, rooms: readonly string[], count: number, timeline: Timeline): Probe[] {
  const width = String(count - 1).length
  return Array.from({ length: count }, (_, i) => {
    const n = String(i).padStart(width, '0')
    const user = `chaos-agent-${n}`
    const room = rooms[i % rooms.length] as string
    const agent = new Agent({ url: cluster.wsUrl, token: cluster.token(user, 'agent', `Chaos ${n}`), ca: cluster.ca, idPrefix: `a${n}` })
    return new Probe(user, room, agent, timeline)
  })
}

/** Connects every agent and joins it to its room: from then on it is owed every message of that room. */
export async function connectProbes (probes: readonly Probe[]): Promise<void> {
  let next = 0
  const worker = async (): Promise<void> => {
    while (next < probes.length) {
      const probe = probes[next++] as Probe
      await probe.agent.connect()
      const joined = await probe.agent.join(probe.room)
      probe.startSeq = joined.seq
    }
  }
  await Promise.all(Array.from({ length: Math.min(CONNECT_CONCURRENCY, probes.length) }, worker))
}

/** Closes every agent (1000); bounded, since a stuck close must not hold the run. */
export async function closeAgents (probes: readonly Probe[], timeoutMs = 10_000): Promise<void> {
  await withTimeout(Promise.allSettled(probes.map(async (p) => { await p.agent.close() })), timeoutMs, 'agents to close')
    .catch(() => { for (const p of probes) p.agent.drop() })
}
