import { touchUser, type Database } from '@pan/db'
import type { Principal } from '../auth.ts'

/** How often a user's `lastSeenAt` is written, at most. */
const TOUCH_EVERY_MS = 30_000

/**
 * Creates users on first sight and keeps `lastSeenAt` fresh without a write per request.
 * Resolves the display name the rest of the server uses (stored name, else token name, else id).
 */
export class Users {
  readonly #db: Database
  readonly #touched = new Map<string, { at: number, name: string }>()

  constructor (db: Database) {
    this.#db = db
  }

  /** Records the user and returns their display name. */
  async seen (p: Principal): Promise<string> {
    const now = Date.now()
    const recent = this.#touched.get(p.id)
    if (recent !== undefined && now - recent.at < TOUCH_EVERY_MS) return recent.name
    const row = await touchUser(this.#db, p.id, p.name, p.role)
    const name = row.name ?? p.id
    if (this.#touched.size > 100_000) this.#touched.clear()
    this.#touched.set(p.id, { at: now, name })
    return name
  }

  /** Forgets the cached name after a profile change. */
  forget (userId: string): void {
    this.#touched.delete(userId)
  }
}
