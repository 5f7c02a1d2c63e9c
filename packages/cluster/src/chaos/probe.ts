import { Agent, type MessageFrame } from '../agent.ts'
import type { Timeline } from './timeline.ts'

/** A connection of the agent as it saw it: which replica said hello, and how it ended. */
export interface Session {
  replica: string | undefined
  helloAt: number
  closedAt: number | undefined
  closeCode: number | undefined
}

/**
 * One chaos agent and an independent record of what it received: every `message` frame is counted
 * per seq here, so duplicates and losses are measured without relying on the Agent's own counters
 * (which the report cross-checks).
 */
export class Probe {
  readonly user: string
  readonly room: string
  readonly agent: Agent
  /** Client ids of the messages this agent queued. */
  readonly sentIds = new Set<string>()
  /** seq → times received. */
  readonly received = new Map<number, number>()
  /** Arrival time (run ms) of each seq's first copy. */
  readonly firstAt = new Map<number, number>()
  /** Extra copies (first 50), with when the copy and the original arrived (run ms). */
  readonly duplicateLog: Array<{ seq: number, at: number, firstAt: number | undefined }> = []
  /** Commit-to-arrival time of each first copy, ms (the frame's `ts` to now, same machine clock). */
  readonly latencies: number[] = []
  /** A new seq below the highest already received (the contract promises seq order). */
  outOfOrder = 0
  /** Frames for another room than the probe's own. */
  strayFrames = 0
  /** `send()` calls that threw (the agent had dropped the room). */
  sendRefusals = 0
  /** The room's seq in the first `joined`: delivery is owed for every seq after it. */
  startSeq: number | undefined
  readonly sessions: Session[] = []
  #highest = 0

  constructor (user: string, room: string, agent: Agent, timeline: Timeline) {
    this.user = user
    this.room = room
    this.agent = agent
    agent.on('message', (frame: MessageFrame) => { this.#onMessage(frame, timeline) })
    agent.on('hello', () => {
      this.sessions.push({ replica: agent.replica, helloAt: timeline.now(), closedAt: undefined, closeCode: undefined })
    })
    agent.on('close', (code: number) => {
      const last = this.sessions.at(-1)
      if (last !== undefined && last.closedAt === undefined) {
        last.closedAt = timeline.now()
        last.closeCode = code
      }
    })
  }

  /** Highest seq received. */
  get highest (): number { return this.#highest }

  /** The session open at run time `at` (or the last one before it). */
  sessionAt (at: number): Session | undefined {
    let found: Session | undefined
    for (const session of this.sessions) {
      if (session.helloAt <= at) found = session
    }
    return found
  }

  #onMessage (frame: MessageFrame, timeline: Timeline): void {
    if (frame.room !== this.room) {
      this.strayFrames++
      return
    }
    const count = this.received.get(frame.seq) ?? 0
    this.received.set(frame.seq, count + 1)
    if (count > 0) {
      if (this.duplicateLog.length < 50) this.duplicateLog.push({ seq: frame.seq, at: timeline.now(), firstAt: this.firstAt.get(frame.seq) })
      return
    }
    this.firstAt.set(frame.seq, timeline.now())
    this.latencies.push(Date.now() - frame.ts)
    if (frame.seq < this.#highest) this.outOfOrder++
    else this.#highest = frame.seq
  }
}
