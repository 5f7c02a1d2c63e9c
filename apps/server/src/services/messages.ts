import { findMessage, type Database, type MessageRow, type RoomRow } from '@pan/db'
import { PanError } from '../errors.ts'
import { assertStorable } from '../storable.ts'
import type { Principal } from '../auth.ts'
import type { WriteBatcher } from './batcher.ts'
import type { SendLimits } from './limits.ts'

export interface PostInput {
  id: string
  text?: string | undefined
  data?: Record<string, unknown> | undefined
}

export interface PostResult {
  room: string
  id: string
  seq: number
  ts: number
  /** True when the id was already stored: the original seq and ts are returned, nothing new stored. */
  duplicate: boolean
}

/** Storing a message, from a WS `send`, a finished stream or `POST …/messages`. */
export class MessageService {
  readonly #db: Database
  readonly #batcher: WriteBatcher
  readonly #limits: SendLimits
  readonly #defaultMaxBytes: number

  constructor (deps: { db: Database, batcher: WriteBatcher, limits: SendLimits, defaultMaxBytes: number }) {
    this.#db = deps.db
    this.#batcher = deps.batcher
    this.#limits = deps.limits
    this.#defaultMaxBytes = deps.defaultMaxBytes
  }

  /**
   * Admits a post: payload rules, then the sender's send budgets. Resolves null when the caller
   * should `store` it. A re-send of a known id answers the original whatever its content, so when
   * a check refuses the post, an already stored message with that id is returned instead of the
   * error. The happy path costs no extra query: the commit itself detects re-sends.
   */
  async admit (p: Principal, room: RoomRow, input: PostInput): Promise<PostResult | null> {
    try {
      this.assertPayload(room, input)
      await this.#limits.takeSend(p.id, room)
      return null
    } catch (err) {
      const known = await findMessage(this.#db, room.id, p.id, input.id)
      if (known === undefined) throw err
      return resultOf(known, true)
    }
  }

  /** The stored message with this client id from this sender, if any. */
  async find (p: Principal, room: RoomRow, id: string): Promise<PostResult | undefined> {
    const known = await findMessage(this.#db, room.id, p.id, id)
    return known === undefined ? undefined : resultOf(known, true)
  }

  /** Checks the payload rules: at least one of text/data, and within the room's `maxMessageBytes`. */
  assertPayload (room: RoomRow, input: PostInput, allowEmpty = false): void {
    if (!allowEmpty && input.text === undefined && input.data === undefined) {
      throw new PanError('PAN_ERR_BAD_REQUEST', 'a message needs text or data')
    }
    assertStorable({ text: input.text, data: input.data })
    const max = room.config.maxMessageBytes ?? this.#defaultMaxBytes
    const bytes = (input.text === undefined ? 0 : Buffer.byteLength(input.text)) +
      (input.data === undefined ? 0 : Buffer.byteLength(JSON.stringify(input.data)))
    if (bytes > max) throw new PanError('PAN_ERR_TOO_LARGE', `message is ${bytes} bytes; room ${room.id} allows ${max}`)
  }

  /** Commits the message (group commit) and resolves only after it is durable. */
  async store (p: Principal, name: string, room: RoomRow, input: PostInput, streamStatus?: 'complete' | 'interrupted'): Promise<PostResult> {
    const outcome = await this.#batcher.submit({
      roomId: room.id,
      clientId: input.id,
      senderId: p.id,
      senderName: name,
      text: input.text,
      data: input.data,
      streamStatus
    })
    if (!outcome.ok) throw new PanError('PAN_ERR_ROOM_NOT_FOUND', `room ${room.id} is ${outcome.reason === 'room_closed' ? 'closed' : 'gone'}`)
    return resultOf(outcome.message, outcome.duplicate)
  }
}

const resultOf = (m: MessageRow, duplicate: boolean): PostResult =>
  ({ room: m.roomId, id: m.clientId, seq: m.seq, ts: m.createdAt.getTime(), duplicate })
