import { waitUntil } from '../wait.ts'
import type { Probe } from './probe.ts'

/** How many stragglers a failure message names. */
const NAMED = 5

/**
 * Waits (at most `timeoutMs`) until every agent has every send acked or refused for good.
 * Resolves with a failure reason naming the stragglers, or undefined.
 */
export async function settleAll (probes: readonly Probe[], timeoutMs: number): Promise<string | undefined> {
  const results = await Promise.allSettled(probes.map(async (p) => { await p.agent.settle(timeoutMs) }))
  const stuck = probes.filter((_, i) => results[i]?.status === 'rejected')
  if (stuck.length === 0) return undefined
  const pending = stuck.reduce((sum, p) => sum + p.agent.pending, 0)
  return `settle timed out after ${timeoutMs} ms: ${stuck.length} agents still had ${pending} unacked sends (${stuck.slice(0, NAMED).map(describe).join('; ')})`
}

/**
 * Waits (at most `timeoutMs`) until every agent's log of its room reaches the room's stored head.
 * Resolves with a failure reason naming the laggards, or undefined.
 */
export async function converge (probes: readonly Probe[], heads: ReadonlyMap<string, number>, timeoutMs: number): Promise<string | undefined> {
  const behind = (): Probe[] => probes.filter((p) => (p.agent.log(p.room)?.last ?? 0) < (heads.get(p.room) ?? 0))
  try {
    await waitUntil(() => behind().length === 0, { timeoutMs, intervalMs: 100, what: 'every agent to reach its room head' })
    return undefined
  } catch {
    const late = behind()
    return `converge timed out after ${timeoutMs} ms: ${late.length} agents short of their room head (${late.slice(0, NAMED).map((p) =>
      `${p.user} in ${p.room} at ${p.agent.log(p.room)?.last ?? 0} of ${heads.get(p.room) ?? 0}, ${describe(p)}`).join('; ')})`
  }
}

function describe (p: Probe): string {
  const a = p.agent
  const state = a.stoppedCode !== undefined ? `stopped by ${a.stoppedCode}` : a.connected ? `connected to ${a.replica ?? '?'}` : 'disconnected'
  return `${p.user}: ${a.pending} pending, ${state}, last close codes ${a.closeCodes.slice(-3).join(',') || 'none'}`
}
