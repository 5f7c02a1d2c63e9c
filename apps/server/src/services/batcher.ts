import { commitMessages, type CommitOutcome, type Database, type MessageRow, type NewMessage } from '@pan/db'
import { PanError } from '../errors.ts'

export interface BatcherOptions {
  /** How long an idle batcher waits for companions before committing, ms. */
  maxWaitMs: number
  /** Most messages in one transaction. */
  maxBatch: number
  /** Called with each batch's newly stored rows, after commit and before the acks resolve. */
  onCommitted: (rows: MessageRow[]) => Promise<void>
  /** Observes each commit (size and duration) for metrics. */
  observe?: (size: number, seconds: number) => void
}

interface Pending {
  message: NewMessage
  resolve: (outcome: CommitOutcome) => void
  reject: (err: Error) => void
}

/**
 * Group commit: sends arriving while a transaction is in flight (or within `maxWaitMs` of an idle
 * moment) are committed together in one transaction. One transaction at a time, so committed
 * batches are handed to `onCommitted` in seq order.
 */
export class WriteBatcher {
  readonly #db: Database
  readonly #options: BatcherOptions
  #queue: Pending[] = []
  #timer: NodeJS.Timeout | undefined
  #running: Promise<void> | undefined

  constructor (db: Database, options: BatcherOptions) {
    this.#db = db
    this.#options = options
  }

  /** Resolves once the message is committed (or found already stored). */
  async submit (message: NewMessage): Promise<CommitOutcome> {
    return await new Promise<CommitOutcome>((resolve, reject) => {
      this.#queue.push({ message, resolve, reject })
      this.#schedule()
    })
  }

  /** Resolves when everything submitted so far is committed. */
  async flush (): Promise<void> {
    while (this.#queue.length > 0 || this.#running !== undefined) {
      if (this.#running === undefined) this.#start()
      await this.#running
    }
  }

  #schedule (): void {
    if (this.#running !== undefined) return // the running batch starts the next one
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

  async #commit (batch: Pending[]): Promise<void> {
    const started = process.hrtime.bigint()
    let outcomes: CommitOutcome[]
    try {
      outcomes = await commitMessages(this.#db, batch.map((p) => p.message))
    } catch (cause) {
      if (batch.length > 1) {
        // One bad row aborts the whole transaction: commit each message alone, in order, so a
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
    try {
      if (fresh.length > 0) await this.#options.onCommitted(fresh)
    } finally {
      batch.forEach((p, i) => { p.resolve(outcomes[i] as CommitOutcome) })
    }
  }
}
