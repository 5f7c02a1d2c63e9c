import { Coalescer, CONNECT_GROUP_WINDOW_MS, touchUsers, type Database, type SeenUser } from '@pan/db'
import type { Principal } from '../auth.ts'

/** How often a user's `lastSeenAt` is written, at most. */
const TOUCH_EVERY_MS = 30_000

/**
 * Creates users on first sight and keeps `lastSeenAt` fresh without a write per request.
 * Resolves the display name the rest of the server uses (stored name, else token name, else id).
 *
 * The name must come from the row, not the token: once a user has a name (from an earlier
 * token or an admin's PATCH) a token's `name` no longer applies, so `hello` cannot be built from
 * the token alone. Users seen at about the same time are upserted together, one statement per
 * group (a herd of reconnecting agents costs a few round trips, not one each).
 */
export class Users {
  readonly #touched = new Map<string, { at: number, name: string }>()
  readonly #touch: Coalescer<SeenUser, string | null>
  /** Bumped by `forget`: a touch that was in flight across a profile change must not cache the old name. */
  #forgets = 0

  constructor (db: Database) {
    this.#touch = new Coalescer(seenKey, async (seen) => {
      const names = await touchUsers(db, mergeById(seen))
      return new Map(seen.map((u) => [seenKey(u), names.get(u.id) ?? null]))
    }, { windowMs: CONNECT_GROUP_WINDOW_MS })
  }

  /** Records the user and returns their display name. */
  async seen (p: Principal): Promise<string> {
    const now = Date.now()
    const recent = this.#touched.get(p.id)
    if (recent !== undefined && now - recent.at < TOUCH_EVERY_MS) return recent.name
    const forgets = this.#forgets
    const name = (await this.#touch.load({ id: p.id, name: p.name, role: p.role })) ?? p.id
    if (forgets !== this.#forgets) return name
    if (this.#touched.size > 100_000) this.#touched.clear()
    this.#touched.set(p.id, { at: now, name })
    return name
  }

  /** Forgets the cached name after a profile change. */
  forget (userId: string): void {
    this.#forgets += 1
    this.#touched.delete(userId)
  }
}

const seenKey = (u: SeenUser): string => `${u.id}\u0000${u.role}\u0000${u.name ?? ''}`

/**
 * One row per user, as if the group's tokens had been seen one after another: the first name
 * given fills an empty one, the last role wins.
 */
function mergeById (seen: readonly SeenUser[]): SeenUser[] {
  const byId = new Map<string, SeenUser>()
  for (const u of seen) {
    const prev = byId.get(u.id)
    byId.set(u.id, prev === undefined ? u : { id: u.id, name: prev.name ?? u.name, role: u.role })
  }
  return [...byId.values()]
}
