import type { Bus } from '@pan/bus'
import type { RoomRow } from '@pan/db'
import { PanError } from '../errors.ts'

/**
 * Per-user budgets, shared by every connection and replica through the bus: `sendPerSec` for
 * sends and stream starts (plus a room's own `config.sendPerSec`), `deltasPerSec` for stream deltas.
 */
export class SendLimits {
  readonly #bus: Bus
  readonly #sendPerSec: number
  readonly #deltasPerSec: number

  constructor (bus: Bus, limits: { sendPerSec: number, deltasPerSec: number }) {
    this.#bus = bus
    this.#sendPerSec = limits.sendPerSec
    this.#deltasPerSec = limits.deltasPerSec
  }

  async takeSend (userId: string, room: RoomRow): Promise<void> {
    const global = await this.#bus.take(`send:${userId}`, this.#sendPerSec)
    if (!global.ok) throw limited(global.retryAfterMs, 'send rate exceeded')
    const roomRate = room.config.sendPerSec
    if (roomRate === undefined) return
    const inRoom = await this.#bus.take(`send:${room.id}:${userId}`, roomRate)
    if (!inRoom.ok) throw limited(inRoom.retryAfterMs, `send rate of room ${room.id} exceeded`)
  }

  async takeDelta (userId: string): Promise<void> {
    const decision = await this.#bus.take(`delta:${userId}`, this.#deltasPerSec)
    if (!decision.ok) throw limited(decision.retryAfterMs, 'stream delta rate exceeded')
  }
}

const limited = (retryAfterMs: number, message: string): PanError =>
  new PanError('PAN_ERR_RATE_LIMITED', `${message}; retry in ${retryAfterMs} ms`, { retryAfterMs })
