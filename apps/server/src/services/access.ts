import { activeBansOfUsers, Coalescer, CONNECT_GROUP_WINDOW_MS, findRooms, isMember, type BanRow, type Database, type RoomRow } from '@pan/db'
import type { Bus } from '@pan/bus'
import { PanError } from '../errors.ts'
import { canView, type Principal } from '../auth.ts'

/**
 * Who may do what in which room. Rooms and each user's bans (an empty list included) are cached
 * and invalidated by bus control events, so the hot path (connect, join, send) rarely touches the
 * database and a ban made on any replica bites here within the bus's latency. Users whose bans
 * are not cached yet, typically a herd of fresh connections, are read together, one statement
 * per group.
 */
export class Access {
  readonly #db: Database
  readonly #rooms = new Map<string, RoomRow>()
  readonly #bans = new Map<string, BanRow[]>()
  readonly #loadBans: Coalescer<string, BanRow[]>
  readonly #loadRooms: Coalescer<string, RoomRow | undefined>
  /** As `banEpoch`, for rooms. */
  #roomEpoch = 0
  readonly #unsubscribe: () => void
  /**
   * Bumped whenever cached bans are invalidated. A read that was in flight across a bump may
   * predate the ban that caused it, so its result is not cached; callers that act on a "not
   * banned" answer later (the gateway, before it registers a connection) compare it too.
   */
  banEpoch = 0

  constructor (db: Database, bus: Bus) {
    this.#db = db
    this.#loadBans = new Coalescer((id) => id, async (ids) => await activeBansOfUsers(db, ids), { windowMs: CONNECT_GROUP_WINDOW_MS })
    this.#loadRooms = new Coalescer((id) => id, async (ids) => {
      const found = await findRooms(db, ids)
      return new Map(ids.map((id) => [id, found.get(id)]))
    }, { windowMs: CONNECT_GROUP_WINDOW_MS })
    this.#unsubscribe = bus.onControl((event) => {
      switch (event.type) {
        case 'ban':
        case 'ban_lifted':
          this.forgetBans(event.userId)
          break
        case 'room_closed':
        case 'room_updated':
          this.forgetRoom(event.roomId)
          break
        case 'membership_revoked':
          break
      }
    })
  }

  close (): void {
    this.#unsubscribe()
  }

  /** Forgets cached state for a room or a user's bans (after a local write). */
  forgetRoom (roomId: string): void {
    this.#roomEpoch += 1
    this.#rooms.delete(roomId)
  }

  forgetBans (userId: string): void {
    this.banEpoch += 1
    this.#bans.delete(userId)
  }

  /** Forgets everything: after a bus resync, invalidations may have been lost with the payloads. */
  forgetAll (): void {
    this.banEpoch += 1
    this.#roomEpoch += 1
    this.#rooms.clear()
    this.#bans.clear()
  }

  /** The room, closed or not; throws not_found when it never existed. */
  async room (roomId: string): Promise<RoomRow> {
    const cached = this.#rooms.get(roomId)
    if (cached !== undefined) return cached
    const epoch = this.#roomEpoch
    const row = await this.#loadRooms.load(roomId)
    if (row === undefined) throw new PanError('PAN_ERR_ROOM_NOT_FOUND', `room ${roomId} does not exist`)
    if (epoch === this.#roomEpoch) {
      if (this.#rooms.size > 100_000) this.#rooms.clear()
      this.#rooms.set(roomId, row)
    }
    return row
  }

  async #activeBans (userId: string): Promise<BanRow[]> {
    let bans = this.#bans.get(userId)
    if (bans === undefined) {
      const epoch = this.banEpoch
      bans = await this.#loadBans.load(userId)
      if (epoch === this.banEpoch) {
        if (this.#bans.size > 100_000) this.#bans.clear()
        this.#bans.set(userId, bans)
      }
    }
    const now = Date.now()
    return bans.filter((b) => b.liftedAt === null && (b.expiresAt === null || b.expiresAt.getTime() > now))
  }

  /** Whether the user is banned network-wide right now. */
  async isNetworkBanned (userId: string): Promise<boolean> {
    return (await this.#activeBans(userId)).some((b) => b.roomId === null)
  }

  async assertNotNetworkBanned (p: Principal): Promise<void> {
    if (await this.isNetworkBanned(p.id)) throw new PanError('PAN_ERR_BANNED', 'you are banned from this network')
  }

  async #assertNotBannedIn (p: Principal, roomId: string): Promise<void> {
    const bans = await this.#activeBans(p.id)
    if (bans.some((b) => b.roomId === null || b.roomId === roomId)) {
      throw new PanError('PAN_ERR_BANNED', `you are banned from room ${roomId}`)
    }
  }

  async #assertMayEnter (p: Principal, room: RoomRow): Promise<void> {
    await this.#assertNotBannedIn(p, room.id)
    if (room.visibility === 'private' && !canView(p) && !(await isMember(this.#db, room.id, p.id))) {
      throw new PanError('PAN_ERR_PRIVATE_ROOM', `room ${room.id} is private`)
    }
  }

  /** Reading a room, its history or presence: viewers and admins always; agents who may join. Closed rooms stay readable. */
  async assertMayRead (p: Principal, roomId: string): Promise<RoomRow> {
    const room = await this.room(roomId)
    await this.#assertMayEnter(p, room)
    return room
  }

  /** Joining (and so sending): the room must be open. */
  async assertMayJoin (p: Principal, roomId: string): Promise<RoomRow> {
    const room = await this.room(roomId)
    if (room.closedAt !== null) throw new PanError('PAN_ERR_ROOM_NOT_FOUND', `room ${roomId} is closed`)
    await this.#assertMayEnter(p, room)
    return room
  }

  /** Posting: joinable, and not a read-only viewer. */
  async assertMaySend (p: Principal, roomId: string): Promise<RoomRow> {
    if (p.role === 'viewer') throw new PanError('PAN_ERR_VIEWER_READ_ONLY', 'viewers cannot send')
    return await this.assertMayJoin(p, roomId)
  }
}
