/**
 * What one client saw of one room: the seqs it received, in arrival order, and every departure
 * from the contract's delivery guarantee (docs/protocol.md §3: in order, no gap, no duplicate;
 * loss only as an explicit `truncated` range).
 */
export class RoomLog {
  /** Highest seq seen (or known to be covered: the room's seq when first joined without `since`). */
  last: number | undefined
  /** Every new seq, in arrival order. Duplicates are counted, not listed. */
  readonly seqs: number[] = []
  /** Messages whose seq was at or below one already seen. */
  duplicates = 0
  /** Jumps past the next expected seq not announced as `truncated`: a server bug. */
  gaps = 0
  /** Ranges the server said were lost to retention. */
  readonly truncated: Array<{ from: number, to: number }> = []

  constructor (since?: number) {
    this.last = since
  }

  /** A `joined` frame: the room's latest seq, and a lost range if the resume crossed deleted messages. */
  joined (seq: number, truncated?: { from: number, to: number }): void {
    // First join without `since`: only messages after `seq` will come, so that is where we are.
    this.last ??= seq
    if (truncated !== undefined) {
      this.truncated.push(truncated)
      if (this.last < truncated.to) this.last = truncated.to
    }
  }

  /** A `message` frame's seq. Returns false for a duplicate. */
  message (seq: number): boolean {
    if (this.last !== undefined && seq <= this.last) {
      this.duplicates++
      return false
    }
    if (this.last !== undefined && seq > this.last + 1) this.gaps++
    this.last = seq
    this.seqs.push(seq)
    return true
  }
}
