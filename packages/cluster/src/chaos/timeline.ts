/** One thing the run did or saw, `at` ms after the run started. */
export interface RunEvent {
  at: number
  kind: 'phase' | 'kill' | 'restarted' | 'redis-kill' | 'redis-restarted' | 'fault-failed'
  detail: string
}

/**
 * The run's clock and its log of phases and faults: anomalies are reported against it ("seq 412
 * was committed 0.3 s after r2 was killed").
 */
export class Timeline {
  readonly startedAt = Date.now()
  readonly events: RunEvent[] = []

  /** ms since the run started. */
  now (): number {
    return Date.now() - this.startedAt
  }

  /** ms since the run started, of an epoch-ms timestamp. */
  of (epochMs: number): number {
    return epochMs - this.startedAt
  }

  record (kind: RunEvent['kind'], detail: string): RunEvent {
    const event = { at: this.now(), kind, detail }
    this.events.push(event)
    return event
  }

  /** Faults (not phases) within `windowMs` of `at`, for anomaly evidence. */
  faultsNear (at: number, windowMs: number): RunEvent[] {
    return this.events.filter((e) => e.kind !== 'phase' && Math.abs(e.at - at) <= windowMs)
  }
}

/** `12.3s` */
export function seconds (ms: number): string {
  return `${(ms / 1000).toFixed(1)}s`
}
