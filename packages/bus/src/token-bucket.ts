import type { RateDecision } from './bus.ts'

interface Bucket { tokens: number, at: number, perSec: number }

/**
 * In-process token buckets, burst = rate (at least one token, so that a rate below 1/s, which
 * room configs allow, still lets a send through every `1 / rate` seconds). Idle full buckets are
 * swept so memory stays bounded.
 */
export class TokenBuckets {
  readonly #buckets = new Map<string, Bucket>()

  take (key: string, perSec: number, now = Date.now()): RateDecision {
    const burst = Math.max(1, perSec)
    const bucket = this.#buckets.get(key) ?? { tokens: burst, at: now, perSec }
    // A wall clock stepping backwards must not drain the bucket.
    const elapsedMs = Math.max(0, now - bucket.at)
    bucket.tokens = Math.min(burst, bucket.tokens + (elapsedMs / 1000) * perSec)
    bucket.at = Math.max(bucket.at, now)
    bucket.perSec = perSec
    this.#buckets.set(key, bucket)
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1
      return { ok: true, retryAfterMs: 0 }
    }
    return { ok: false, retryAfterMs: Math.max(1, Math.ceil(((1 - bucket.tokens) / perSec) * 1000)) }
  }

  /**
   * Drops buckets untouched for `idleMs` that have refilled by now: a fresh bucket would be
   * full too, so forgetting them changes no decision. Slow buckets (rate below one token per
   * `idleMs`) stay until they are full.
   */
  sweep (idleMs: number, now = Date.now()): void {
    for (const [key, bucket] of this.#buckets) {
      const idle = now - bucket.at
      const full = bucket.tokens + (idle / 1000) * bucket.perSec >= Math.max(1, bucket.perSec)
      if (idle > idleMs && full) this.#buckets.delete(key)
    }
  }
}
