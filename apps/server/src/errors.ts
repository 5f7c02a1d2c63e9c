import { ErrorStatus, type ErrorCode } from '@pan/protocol'

/**
 * The error catalogue: permanent `PAN_ERR_*` codes, each mapped to one of the contract's error
 * `code`s. Tests assert the contract code, never the prose.
 */
export const Errors = {
  PAN_ERR_BAD_REQUEST: 'bad_request',
  PAN_ERR_UNAUTHORIZED: 'unauthorized',
  PAN_ERR_FORBIDDEN: 'forbidden',
  PAN_ERR_VIEWER_READ_ONLY: 'forbidden',
  PAN_ERR_NOT_JOINED: 'forbidden',
  PAN_ERR_PRIVATE_ROOM: 'forbidden',
  PAN_ERR_ROOM_NOT_FOUND: 'not_found',
  PAN_ERR_NOT_FOUND: 'not_found',
  PAN_ERR_STREAM_NOT_FOUND: 'not_found',
  PAN_ERR_ROOM_EXISTS: 'conflict',
  PAN_ERR_CONFLICT: 'conflict',
  PAN_ERR_BANNED: 'banned',
  PAN_ERR_RATE_LIMITED: 'rate_limited',
  PAN_ERR_TOO_LARGE: 'too_large',
  PAN_ERR_UNAVAILABLE: 'unavailable',
  PAN_ERR_INTERNAL: 'internal'
} as const satisfies Record<string, ErrorCode>

export type PanErrorName = keyof typeof Errors

export class PanError extends Error {
  readonly panCode: PanErrorName
  readonly code: ErrorCode
  readonly statusCode: number
  readonly retryAfterMs: number | undefined

  constructor (panCode: PanErrorName, message: string, options: { retryAfterMs?: number, cause?: unknown } = {}) {
    super(message, { cause: options.cause })
    this.name = 'PanError'
    this.panCode = panCode
    this.code = Errors[panCode]
    this.statusCode = ErrorStatus[this.code]
    this.retryAfterMs = options.retryAfterMs
  }
}

export const isPanError = (err: unknown): err is PanError => err instanceof PanError
