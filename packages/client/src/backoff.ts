/** Reconnect timing. All durations in milliseconds. */
export interface BackoffOptions {
  /** First retry window: the first delay is drawn from [0, baseMs). Default 250. */
  baseMs?: number
  /** Largest window, reached after a few failures in a row. Default 30000. */
  maxMs?: number
}

/**
 * "Full jitter" exponential backoff (AWS architecture blog, "Exponential Backoff And Jitter"):
 * a delay drawn uniformly from [0, min(maxMs, baseMs · 2^attempt)). Drawing from the whole window,
 * rather than adding a little noise to a fixed delay, is what spreads a herd of clients that lost
 * the same server at the same instant.
 */
export function fullJitter (attempt: number, options: BackoffOptions = {}, random: () => number = Math.random): number {
  const base = options.baseMs ?? 250
  const max = options.maxMs ?? 30_000
  const window = Math.min(max, base * 2 ** Math.min(attempt, 30))
  return Math.floor(random() * window)
}
