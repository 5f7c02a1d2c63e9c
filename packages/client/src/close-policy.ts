import { CloseCode } from './codes.ts'
import { fullJitter, type BackoffOptions } from './backoff.ts'
import { BannedError, TooManyConnectionsError, UnauthorizedError, type PanError } from './errors.ts'

/** How the client reconnects. All durations in milliseconds. */
export interface ReconnectOptions extends BackoffOptions {
  /** After close 1012 (server restart or drain), the reconnect is drawn from [0, restartJitterMs). Default 1000. */
  restartJitterMs?: number
  /** After close 4008 (sustained abuse of limits), the client waits this long before reconnecting. Default 60000. */
  policyPauseMs?: number
  /** Close 4009 (too many connections for this user) in a row tolerated before giving up. Default 5. */
  maxTooManyConnections?: number
}

export type CloseDecision = { retry: true, delayMs: number } | { retry: false, error: PanError }

/**
 * What to do after a close, by code (docs/protocol.md §2):
 * - 4001 unauthorized: stop. With `getToken`, one more try with a fresh token first.
 * - 4003 banned: stop.
 * - 4009 too many connections: retry at least 2 s apart, stop after `maxTooManyConnections` in a row.
 * - 4008 policy: retry after `policyPauseMs`, as the code asks for a long pause.
 * - 1012 restart or drain: retry promptly, jittered over `restartJitterMs`.
 * - anything else (1006 drops, 1011, refused upgrades): full-jitter exponential backoff.
 * Counters reset once a connection says `hello`.
 */
export class ClosePolicy {
  readonly #options: ReconnectOptions
  readonly #canRefreshToken: boolean
  readonly #random: () => number
  #attempt = 0
  #unauthorized = 0
  #tooMany = 0

  constructor (options: ReconnectOptions, canRefreshToken: boolean, random: () => number = Math.random) {
    this.#options = options
    this.#canRefreshToken = canRefreshToken
    this.#random = random
  }

  /** A connection said hello: the next failure starts from the smallest delay again. */
  opened (): void {
    this.#attempt = 0
    this.#unauthorized = 0
    this.#tooMany = 0
  }

  decide (code: number): CloseDecision {
    switch (code) {
      case CloseCode.unauthorized:
        this.#unauthorized++
        if (!this.#canRefreshToken || this.#unauthorized >= 2) return { retry: false, error: new UnauthorizedError() }
        return { retry: true, delayMs: this.#backoff() }
      case CloseCode.banned:
        return { retry: false, error: new BannedError() }
      case CloseCode.tooManyConnections: {
        this.#tooMany++
        const max = this.#options.maxTooManyConnections ?? 5
        if (this.#tooMany > max) {
          return { retry: false, error: new TooManyConnectionsError(`closed with 4009 (too many connections for this user) ${this.#tooMany} times in a row`) }
        }
        return { retry: true, delayMs: 2000 + this.#backoff() }
      }
      case CloseCode.policy:
        return { retry: true, delayMs: (this.#options.policyPauseMs ?? 60_000) + this.#backoff() }
      case CloseCode.serviceRestart:
        if (this.#attempt === 0) {
          this.#attempt++
          return { retry: true, delayMs: Math.floor(this.#random() * (this.#options.restartJitterMs ?? 1000)) }
        }
        return { retry: true, delayMs: this.#backoff() }
      default:
        return { retry: true, delayMs: this.#backoff() }
    }
  }

  #backoff (): number {
    return fullJitter(this.#attempt++, this.#options, this.#random)
  }
}
