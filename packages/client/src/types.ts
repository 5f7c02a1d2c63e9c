import type { AgentState } from '@pan/protocol'

/** What `send` posts: at least one of `text` and `data`. */
export interface SendBody {
  text?: string
  /** A JSON object stored with the message. */
  data?: Record<string, unknown>
  /**
   * The client message id (1..64 characters). Default: a fresh UUID. Re-sending an id already
   * stored in the room answers the original ack and stores nothing: pass your own to make a
   * send idempotent across restarts of your program, not only across reconnects.
   */
  id?: string
}

/** The server's acknowledgement: the message is committed, with this seq. */
export interface Ack {
  room: string
  id: string
  seq: number
  /** Epoch milliseconds of the commit. */
  ts: number
}

export interface JoinOptions {
  /**
   * Replay every message after this seq, then live. Without it, only messages stored after the
   * join are delivered. Used on the first join only; reconnects resume from the last seq delivered.
   */
  since?: number
}

export interface StreamOptions {
  /** The stream's id, which becomes the stored message's id. Default: a fresh UUID. */
  id?: string
}

export interface StreamEnd {
  /** Store this text instead of the deltas joined. */
  text?: string
  /** A JSON object stored with the message. */
  data?: Record<string, unknown>
}

/** A message being streamed (LLM tokens): deltas go live to members, `end()` stores one message. */
export interface StreamWriter {
  readonly id: string
  readonly room: string
  /** Everything written so far. */
  readonly text: string
  /** Appends text. Never blocks: deltas are paced to the server's budget and coalesced. */
  write: (delta: string) => void
  /**
   * Stores the message (the deltas joined, or `final.text`) and resolves with its ack. After a
   * reconnect the stream is re-opened with the same id and the whole text, so exactly one message
   * is stored; if the server stored the partial text first (it does when it sees the connection
   * close), this rejects with a `StreamInterruptedError` instead of hiding the loss.
   */
  end: (final?: StreamEnd) => Promise<Ack>
  /** Drops the stream: nothing is stored (a pending `end()` rejects). */
  abort: () => void
}

export type { AgentState }
