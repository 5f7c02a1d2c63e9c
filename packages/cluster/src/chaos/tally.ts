import type { Probe, Session } from './probe.ts'
import type { StoredMessage, StoredRoom } from './store.ts'
import { seconds, type Timeline } from './timeline.ts'

/** The run's figures. Every count is over all agents (deliveries) or all rooms (rows). */
export interface Figures {
  /** Messages queued by the agents: distinct client ids. */
  sent: number
  /** Distinct ids acknowledged with a seq. */
  acked: number
  /** Ids refused for good (not retryable). */
  failedSends: number
  /** Ids still unacknowledged when the tally was taken. */
  unacked: number
  /** Rows in Postgres in the run's rooms. */
  stored: number
  /** Ids acked whose row is not in Postgres: a false durable ack. */
  ackedNotStored: number
  /** Ids acked with a seq whose row is another message, or acked twice with different seqs. */
  ackWrongSeq: number
  /** Same client id stored twice in one room (the unique index forbids it). */
  storedTwice: number
  /** Seqs missing from a room's 1..head in Postgres (seqs are gapless). */
  storedHoles: number
  /** Stored rows whose id no agent sent. */
  storedUnknown: number
  /** Distinct (agent, seq) pairs received within the range each agent is owed. */
  delivered: number
  /** Every `message` frame received, copies included. */
  deliveredFrames: number
  /** Sum over agents of the seqs they are owed: (joined seq, room head]. */
  expectedDeliveries: number
  /** Owed (agent, seq) pairs never received. */
  missing: number
  /** Copies of an already-received message, by the Agent's own counters (RoomLog). */
  duplicated: number
  /** The same, measured independently per seq by the probes. */
  duplicatedSeen: number
  /** Jumps past the next seq (Agent's counter). */
  gaps: number
  /** New seqs that arrived below one already received. */
  outOfOrder: number
  /** Received seqs that are not stored. */
  phantom: number
  /** Hellos after the first, over all agents. */
  reconnects: number
  /** Writes of an id already written (after reconnects or retryable errors). */
  resent: number
  /** `error` frames received. */
  errorFrames: number
}

export interface MissingEvidence {
  room: string
  seq: number
  sender: string | undefined
  clientId: string | undefined
  /** Commit time, run seconds. */
  committedAt: string | undefined
  /** Which replica the sender was on at the commit. */
  senderReplica: string | undefined
  /** Agents that never got it, with the connection they had at the commit. */
  agents: Array<{ agent: string, session: string }>
  faultsNear: string[]
}

export interface Anomalies {
  /** Per room: how many owed deliveries are missing, which seqs, how many agents. */
  missingByRoom: Array<{ room: string, missing: number, seqs: string, agents: number }>
  /** The first missing seqs in detail. */
  missing: MissingEvidence[]
  duplicates: Array<{ agent: string, room: string, seq: number, copyAt: string, firstAt: string, sessions: string, faultsNear: string[] }>
  ackedNotStored: Array<{ agent: string, id: string, room: string, seq: number, storedAs: string }>
  storedTwice: Array<{ room: string, clientId: string, seqs: number[] }>
  storedHoles: Array<{ room: string, seqs: string }>
}

const DETAIL_LIMIT = 30
const NEAR_MS = 5000

/** What `tally` finds: the figures, the close codes the agents saw (code → count), and the evidence of anything wrong. */
export interface Tally {
  figures: Figures
  closeCodes: Record<string, number>
  /** Commit-to-delivery time over every first copy, ms: slow paths (catch-up from the database instead of the bus) show here. */
  latencyMs: { p50: number, p99: number, max: number }
  anomalies: Anomalies
}

export function tally (probes: readonly Probe[], stored: ReadonlyMap<string, StoredRoom>, timeline: Timeline): Tally {
  const f: Figures = {
    sent: 0,
    acked: 0,
    failedSends: 0,
    unacked: 0,
    stored: 0,
    ackedNotStored: 0,
    ackWrongSeq: 0,
    storedTwice: 0,
    storedHoles: 0,
    storedUnknown: 0,
    delivered: 0,
    deliveredFrames: 0,
    expectedDeliveries: 0,
    missing: 0,
    duplicated: 0,
    duplicatedSeen: 0,
    gaps: 0,
    outOfOrder: 0,
    phantom: 0,
    reconnects: 0,
    resent: 0,
    errorFrames: 0
  }
  const a: Anomalies = { missingByRoom: [], missing: [], duplicates: [], ackedNotStored: [], storedTwice: [], storedHoles: [] }
  const index = indexRows(stored, f, a)
  const senders = new Map(probes.map((p) => [p.user, p]))
  const sentIds = new Set<string>()
  const missingByRoom = new Map<string, { seqs: Set<number>, agents: Set<string>, count: number }>()
  const closeCodes: Record<string, number> = {}

  for (const p of probes) {
    const agent = p.agent
    f.sent += p.sentIds.size
    f.acked += agent.acked
    f.failedSends += agent.failed.size
    f.unacked += agent.pending
    f.duplicated += agent.duplicates
    f.gaps += agent.gaps
    f.ackWrongSeq += agent.ackMismatches
    f.outOfOrder += p.outOfOrder
    f.reconnects += Math.max(0, agent.connections - 1)
    f.resent += agent.resent
    f.errorFrames += agent.errors
    for (const code of agent.closeCodes) closeCodes[code] = (closeCodes[code] ?? 0) + 1
    for (const id of p.sentIds) sentIds.add(id)
    for (const [id, ack] of agent.acks) checkAck(p, id, ack, index, f, a)

    const room = stored.get(p.room)
    const head = room?.head ?? 0
    const start = p.startSeq ?? 0
    f.expectedDeliveries += Math.max(0, head - start)
    for (const [seq, count] of p.received) {
      f.deliveredFrames += count
      if (!(index.bySeq.get(p.room)?.has(seq) ?? false)) f.phantom++
      if (seq <= start || seq > head) continue
      f.delivered++
      if (count > 1) f.duplicatedSeen++
    }
    for (const dup of p.duplicateLog) {
      if (a.duplicates.length >= DETAIL_LIMIT) break
      a.duplicates.push({
        agent: p.user,
        room: p.room,
        seq: dup.seq,
        copyAt: seconds(dup.at),
        firstAt: dup.firstAt === undefined ? '?' : seconds(dup.firstAt),
        sessions: p.sessions.map(describeSession).join(' | '),
        faultsNear: timeline.faultsNear(dup.at, NEAR_MS).map((e) => `${seconds(e.at)} ${e.detail}`)
      })
    }
    for (let seq = start + 1; seq <= head; seq++) {
      if (p.received.has(seq)) continue
      f.missing++
      let entry = missingByRoom.get(p.room)
      if (entry === undefined) missingByRoom.set(p.room, entry = { seqs: new Set(), agents: new Set(), count: 0 })
      entry.seqs.add(seq)
      entry.agents.add(p.user)
      entry.count++
    }
  }
  for (const ids of index.byClient.values()) {
    for (const id of ids.keys()) if (!sentIds.has(id)) f.storedUnknown++
  }
  for (const [room, entry] of missingByRoom) {
    a.missingByRoom.push({ room, missing: entry.count, seqs: ranges([...entry.seqs]), agents: entry.agents.size })
  }
  a.missing = missingDetail(probes, missingByRoom, index, senders, timeline)
  return { figures: f, closeCodes, latencyMs: percentiles(probes.flatMap((p) => p.latencies)), anomalies: a }
}

interface RowIndex {
  /** room → seq → row */
  bySeq: Map<string, Map<number, StoredMessage>>
  /** room → client id → seqs */
  byClient: Map<string, Map<string, number[]>>
}

function indexRows (stored: ReadonlyMap<string, StoredRoom>, f: Figures, a: Anomalies): RowIndex {
  const bySeq = new Map<string, Map<number, StoredMessage>>()
  const byClient = new Map<string, Map<string, number[]>>()
  for (const [room, { head, rows }] of stored) {
    const seqs = new Map<number, StoredMessage>()
    const clients = new Map<string, number[]>()
    for (const row of rows) {
      seqs.set(row.seq, row)
      const list = clients.get(row.clientId)
      if (list === undefined) clients.set(row.clientId, [row.seq])
      else list.push(row.seq)
    }
    bySeq.set(room, seqs)
    byClient.set(room, clients)
    f.stored += rows.length
    for (const [clientId, list] of clients) {
      if (list.length < 2) continue
      f.storedTwice += list.length - 1
      if (a.storedTwice.length < DETAIL_LIMIT) a.storedTwice.push({ room, clientId, seqs: list })
    }
    const holes: number[] = []
    for (let seq = 1; seq <= head; seq++) if (!seqs.has(seq)) holes.push(seq)
    f.storedHoles += holes.length
    if (holes.length > 0) a.storedHoles.push({ room, seqs: ranges(holes) })
  }
  return { bySeq, byClient }
}

function checkAck (p: Probe, id: string, ack: { room: string, seq: number }, index: RowIndex, f: Figures, a: Anomalies): void {
  const atSeq = index.bySeq.get(ack.room)?.get(ack.seq)
  if (atSeq?.clientId === id && atSeq.senderId === p.user) return
  const storedSeqs = index.byClient.get(ack.room)?.get(id)
  if (storedSeqs === undefined) f.ackedNotStored++
  else f.ackWrongSeq++
  if (a.ackedNotStored.length < DETAIL_LIMIT) {
    a.ackedNotStored.push({
      agent: p.user,
      id,
      room: ack.room,
      seq: ack.seq,
      storedAs: storedSeqs === undefined ? 'not stored' : `stored at seq ${storedSeqs.join(',')}`
    })
  }
}

function missingDetail (
  probes: readonly Probe[],
  byRoom: ReadonlyMap<string, { seqs: Set<number> }>,
  index: RowIndex,
  senders: ReadonlyMap<string, Probe>,
  timeline: Timeline
): MissingEvidence[] {
  const out: MissingEvidence[] = []
  for (const [room, { seqs }] of byRoom) {
    for (const seq of [...seqs].sort((x, y) => x - y)) {
      if (out.length >= DETAIL_LIMIT) return out
      const row = index.bySeq.get(room)?.get(seq)
      const at = row === undefined ? undefined : timeline.of(row.createdMs)
      const sender = row === undefined ? undefined : senders.get(row.senderId)
      out.push({
        room,
        seq,
        sender: row?.senderId,
        clientId: row?.clientId,
        committedAt: at === undefined ? undefined : seconds(at),
        senderReplica: at === undefined ? undefined : sender?.sessionAt(at)?.replica,
        agents: probes
          .filter((p) => p.room === room && seq > (p.startSeq ?? 0) && !p.received.has(seq))
          .map((p) => ({ agent: p.user, session: at === undefined ? '?' : describeSession(p.sessionAt(at)) })),
        faultsNear: at === undefined ? [] : timeline.faultsNear(at, NEAR_MS).map((e) => `${seconds(e.at)} ${e.detail}`)
      })
    }
  }
  return out
}

function describeSession (session: Session | undefined): string {
  if (session === undefined) return 'no session'
  const end = session.closedAt === undefined ? 'open' : `closed ${session.closeCode ?? '?'} at ${seconds(session.closedAt)}`
  return `${session.replica ?? '?'} from ${seconds(session.helloAt)}, ${end}`
}

function percentiles (values: number[]): { p50: number, p99: number, max: number } {
  const sorted = values.sort((x, y) => x - y)
  const at = (q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0
  return { p50: at(0.5), p99: at(0.99), max: sorted.at(-1) ?? 0 }
}

/** `1-4,7,9-10` */
export function ranges (seqs: number[]): string {
  const sorted = [...seqs].sort((x, y) => x - y)
  const parts: string[] = []
  let i = 0
  while (i < sorted.length) {
    const from = sorted[i] as number
    let to = from
    while (sorted[i + 1] === to + 1) to = sorted[++i] as number
    parts.push(from === to ? String(from) : `${from}-${to}`)
    i++
  }
  return parts.join(',')
}
