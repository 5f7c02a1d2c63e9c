import { cpuSeconds } from './proc.ts'

/** A process whose CPU is charged to a target. */
export interface ProcessRole {
  role: 'server' | 'postgres' | 'redis'
  pid: number
}

/** CPU seconds per role over a window. */
export type CpuByRole = Record<ProcessRole['role'], number>

/**
 * Samples the CPU of a target's processes at the start of a window; `end()` answers what each
 * role used since. Processes that appeared during the window count from 0, those that vanished
 * count up to their last sample.
 */
export async function cpuWindow (processes: () => Promise<ProcessRole[]>): Promise<{ end: () => Promise<CpuByRole> }> {
  const before = new Map<number, number>()
  for (const p of await processes()) before.set(p.pid, cpuSeconds(p.pid))
  return {
    end: async () => {
      const used: CpuByRole = { server: 0, postgres: 0, redis: 0 }
      const seen = new Set<number>()
      for (const p of await processes()) {
        if (seen.has(p.pid)) continue
        seen.add(p.pid)
        const now = cpuSeconds(p.pid)
        used[p.role] += Math.max(0, now - (before.get(p.pid) ?? 0))
      }
      return used
    }
  }
}
