import type { CommitOutcome, Database, MessageRow, NewMessage } from '@pan/db'
import { CommitLane } from './commit-lane.ts'

export interface BatcherOptions {
  /** How long an idle lane waits for companions before committing, ms. */
  maxWaitMs: number
  /** Most messages in one commit. */
  maxBatch: number
  /**
   * Commits in flight at once. Rooms are spread over this many lanes (by a hash of the room id),
   * each committing one batch at a time, so that the database works on one lane's commit while
   * this process prepares another's. Use 1 for PGlite, which runs one query at a time anyway.
   * @default 1
   */
  lanes?: number
  /**
   * Called with each commit's newly stored rows. What it does before it returns (the writes to this
   * replica's members) comes before that commit's acks; the promise it returns (the publish for the
   * other replicas) holds only `flush`. Per room, calls come in seq order.
   */
  onCommitted: (rows: MessageRow[]) => Promise<void>
  /** A failed `onCommitted`; the messages are stored and acked all the same. */
  onError: (err: unknown) => void
  /** Observes each commit (size and duration) for metrics. */
  observe?: (size: number, seconds: number) => void
}

/** Group commit: sends arriving together are stored in one statement, on one lane per room. */
export class WriteBatcher {
  readonly #lanes: CommitLane[]

  constructor (db: Database, options: BatcherOptions) {
    const count = Math.max(1, Math.floor(options.lanes ?? 1))
    this.#lanes = Array.from({ length: count }, () => new CommitLane(db, options))
  }

  /** Resolves once the message is committed (or found already stored). */
  async submit (message: NewMessage): Promise<CommitOutcome> {
    const lane = this.#lanes[laneOf(message.roomId, this.#lanes.length)] as CommitLane
    return await new Promise<CommitOutcome>((resolve, reject) => {
      lane.submit({ message, resolve, reject })
    })
  }

  /** Resolves when everything submitted so far is committed and published. */
  async flush (): Promise<void> {
    await Promise.all(this.#lanes.map(async (lane) => { await lane.flush() }))
  }
}

/** FNV-1a of the room id: a room always lands on the same lane. */
export function laneOf (roomId: string, lanes: number): number {
  if (lanes === 1) return 0
  let hash = 0x811c9dc5
  for (let i = 0; i < roomId.length; i++) {
    hash ^= roomId.charCodeAt(i)
    hash = Math.imul(hash, 0x01000193)
  }
  return (hash >>> 0) % lanes
}
