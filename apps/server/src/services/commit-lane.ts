import { commitMessages, type CommitOutcome, type Database, type MessageRow, type NewMessage } from '@pan/db'
import { PanError } from '../errors.ts'

export interface LaneOptions {
  /** How long an idle lane waits for companions before committing, ms. */
  maxWaitMs: number
  /** Most messages in one commit. */
  maxBatch: number
  /**
   * Called with each commit's newly stored rows, in commit order. What it does before it returns
   * (the writes to this replica's members) comes before that commit's acks; the promise it returns
   * (the publish for the other replicas) holds only `flush`.
   */
  onCommitted: (rows: MessageRow[]) => Promise<void>
  /** A failed `onCommitted`: the rows are stored and acked all the same (replicas catch up from the database). */
  onError: (err: unknown) => void
  /** Observes each commit (size and duration) for metrics. */
  observe?: ((size: number, seconds: number) => void) | undefined
}

interface Pending {
  message: NewMessage
  resolve: (outcome: CommitOutcome) => void
  reject: (err: Error) => void
}

/**
 * One queue of sends, committed one batch at a time: messages arriving while a commit is in flight
 * (or within `maxWaitMs` of an idle moment) go into the next one. Each commit's rows are handed to
 * `onCommitted` in commit order, and so in seq order for every room of the lane; the next commit
 * does not wait for the publish that `onCommitted` starts.
 */
export class CommitLane {
  readonly #db: Database
  readonly #options: LaneOptions
  #queue: Pending[] = []
  #timer: NodeJS.Timeout | undefined
  #running: Promise<void> | undefined
  /** Publishes that `onCommitted` started and Redis has not answered yet. Never reject. */
  readonly #publishing = new Set<Promise<void>>()

  constructor (db: Database, options: LaneOptions) {
    this.#db = db
    this.#options = options
  }

  submit (pending: Pending): void {
    this.#queue.push(pending)
    this.#schedule()
  }

  /** Resolves when everything submitted so far is committed, handed to `onCommitted` and published. */
  async flush (): Promise<void> {
    while (this.#queue.length > 0 || this.#running !== undefined) {
      if (this.#running === undefined) this.#start()
      await this.#running
    }
    await Promise.all(this.#publishing)
  }

  #schedule (): void {
    if (this.#running !== undefined) return // the running commit starts the next one
    if (this.#queue.length >= this.#options.maxBatch) {
      this.#start()
      return
    }
    this.#timer ??= setTimeout(() => { this.#start() }, this.#options.maxWaitMs)
  }

  #start (): void {
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer)
      this.#timer = undefined
    }
    if (this.#running !== undefined || this.#queue.length === 0) return
    const batch = this.#queue.splice(0, this.#options.maxBatch)
    this.#running = this.#commit(batch).finally(() => {
      this.#running = undefined
      if (this.#queue.length > 0) this.#start()
    })
  }

  /** Never rejects: a failure reaches the senders concerned. */
  async #commit (batch: Pending[]): Promise<void> {
    const started = process.hrtime.bigint()
    let outcomes: CommitOutcome[]
    try {
      outcomes = await commitMessages(this.#db, batch.map((p) => p.message))
    } catch (cause) {
      if (batch.length > 1) {
        // One bad row aborts the whole statement: commit each message alone, in order, so a
        // failure reaches its own sender only and the others are still stored.
        for (const p of batch) await this.#commit([p])
        return
      }
      const err = new PanError('PAN_ERR_UNAVAILABLE', 'the message could not be stored; retry with the same id', { cause })
      for (const p of batch) p.reject(err)
      return
    }
    this.#options.observe?.(batch.length, Number(process.hrtime.bigint() - started) / 1e9)
    const fresh: MessageRow[] = []
    for (const o of outcomes) if (o.ok && !o.duplicate) fresh.push(o.message)
    // Commits of a lane finish one after another, so their hand-offs come in commit order. The
    // acks resolve in the turn of the local writes, not after the publish's round trip: a sender's
    // ack then leaves in the same write as its own copy of the message.
    try {
      if (fresh.length > 0) this.#track(this.#options.onCommitted(fresh))
    } catch (err) {
      this.#options.onError(err)
    } finally {
      batch.forEach((p, i) => { p.resolve(outcomes[i] as CommitOutcome) })
    }
  }

  #track (publish: Promise<void>): void {
    const settled: Promise<void> = publish
      .catch((err: unknown) => { this.#options.onError(err) })
      .finally(() => { this.#publishing.delete(settled) })
    this.#publishing.add(settled)
  }
}
