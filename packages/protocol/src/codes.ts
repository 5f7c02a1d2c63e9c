/**
 * WebSocket close codes. Each says whether a client should reconnect: the SDK and the
 * dashboard rely on these semantics, so a code never changes meaning.
 */
export const CloseCode = {
  /** Normal closure. Do not reconnect unless the application wants to. */
  normal: 1000,
  /** A frame exceeded `limits.maxFrameBytes`. Reconnect only after fixing the sender. */
  frameTooLarge: 1009,
  /** Unexpected server failure. Reconnect with backoff and resume with `since`. */
  internalError: 1011,
  /** Server restarting or draining (also used to cut a slow consumer). Reconnect with jitter and resume. */
  serviceRestart: 1012,
  /** Missing, invalid or expired token. Do not reconnect with the same token. */
  unauthorized: 4001,
  /** Banned network-wide. Do not reconnect. */
  banned: 4003,
  /** Sustained abuse of limits. Reconnect only after a long pause. */
  policy: 4008,
  /** Too many connections for this user. Do not reconnect until another closes. */
  tooManyConnections: 4009
} as const
export type CloseCode = (typeof CloseCode)[keyof typeof CloseCode]

/** The `code` of every error, on WebSocket `error` frames and in REST error bodies. */
export const ErrorCodes = [
  'bad_request',
  'unauthorized',
  'forbidden',
  'not_found',
  'conflict',
  'banned',
  'rate_limited',
  'too_large',
  'unavailable',
  'internal'
] as const
export type ErrorCode = (typeof ErrorCodes)[number]

/** The HTTP status that goes with each error code. */
export const ErrorStatus: Record<ErrorCode, number> = {
  bad_request: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  banned: 403,
  rate_limited: 429,
  too_large: 413,
  unavailable: 503,
  internal: 500
}
