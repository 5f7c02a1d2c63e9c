import { deleteMessagesBefore, roomsWithRetention, type Database } from '@pan/db'
import type { Logger } from '../logger.ts'

/** How often rooms with `config.retentionDays` are swept. */
const SWEEP_EVERY_MS = 10 * 60_000

/**
 * Deletes messages older than each room's `retentionDays`. A resume across deleted messages is
 * answered with `truncated`, so the loss is explicit. Idempotent: several replicas may sweep.
 */
export function startRetention (db: Database, log: Logger): () => void {
  const sweep = async (): Promise<void> => {
    for (const room of await roomsWithRetention(db)) {
      const cutoff = new Date(Date.now() - room.retentionDays * 86_400_000)
      const deleted = await deleteMessagesBefore(db, room.id, cutoff)
      if (deleted > 0) log.info({ room: room.id, deleted }, 'retention removed old messages')
    }
  }
  const run = (): void => { sweep().catch((err: unknown) => { log.warn({ err }, 'retention sweep failed') }) }
  const first = setTimeout(run, 5_000).unref()
  const timer = setInterval(run, SWEEP_EVERY_MS).unref()
  return () => {
    clearTimeout(first)
    clearInterval(timer)
  }
}
