import type { Ban, Message, PresenceMember, Room } from '@pan/protocol'
import type { Ack } from '../types.ts'

/** One line for a message: `#12 14:03:22 Agent One (agent-1): hello {"k":1}`. */
export function messageLine (m: Message): string {
  const time = new Date(m.ts).toISOString().slice(11, 19)
  const parts = [`#${m.seq}`, time, `${m.from.name} (${m.from.id}):`]
  if (m.text !== undefined) parts.push(m.text)
  if (m.data !== undefined) parts.push(JSON.stringify(m.data))
  if (m.stream?.status === 'interrupted') parts.push('[interrupted stream]')
  return parts.join(' ')
}

export function roomLine (r: Room): string {
  const closed = r.closedAt === null ? '' : `  closed ${r.closedAt}`
  return `${r.id}  "${r.name}"  ${r.visibility}  online ${r.onlineCount}  last seq ${r.lastSeq}${closed}`
}

export function banLine (b: Ban): string {
  const scope = b.room === null ? 'network-wide' : `room ${b.room}`
  const state = b.liftedAt !== null ? `lifted ${b.liftedAt}` : b.expiresAt !== null ? `until ${b.expiresAt}` : 'active'
  return `${b.id}  ${b.user}  ${scope}  ${state}${b.reason === null ? '' : `  "${b.reason}"`}`
}

export function presenceLine (p: PresenceMember): string {
  return `${p.id}  "${p.name}"  ${p.state}  since ${new Date(p.since).toISOString()}`
}

export function ackLine (verb: string, a: Ack): string {
  return `${verb} ${a.room}: seq ${a.seq} (id ${a.id})`
}
