import { Type, type TSchema } from 'typebox'
import { ErrorBody, RoomId, UserId } from '@pan/protocol'
import { PanError } from '../errors.ts'
import { canView, isAdmin, type Principal } from '../auth.ts'

/** Admin-only routes: agents and viewers get 403 `forbidden`. */
export function requireAdmin (p: Principal): void {
  if (!isAdmin(p)) throw new PanError('PAN_ERR_FORBIDDEN', 'this route is for admins')
}

/** Read-only dashboard routes: viewers and admins; agents get 403 `forbidden`. */
export function requireViewer (p: Principal): void {
  if (!canView(p)) throw new PanError('PAN_ERR_FORBIDDEN', 'this route is for viewers and admins')
}

/** ISO 8601 for REST bodies; null stays null. */
export const iso = (d: Date | null): string | null => d === null ? null : d.toISOString()

export const RoomParams = Type.Object({ room: RoomId })
export const RoomUserParams = Type.Object({ room: RoomId, user: UserId })
export const UserParams = Type.Object({ user: UserId })

/** The contract's error body, without `ErrorBody`'s `$id` so that it can sit in many routes. */
const ErrorReply = Type.Object(ErrorBody.properties, { description: 'An error: `code` is the contract error code' })

/** Error responses for a route's OpenAPI entry; 401 and 429 apply to every `/v1` route. */
export function errorResponses (...statuses: Array<400 | 403 | 404 | 409 | 413>): Record<number, TSchema> {
  const out: Record<number, TSchema> = { 401: ErrorReply, 429: ErrorReply }
  for (const s of statuses) out[s] = ErrorReply
  return out
}

/** 204 No Content in OpenAPI. */
export const NoContent = Type.Null({ description: 'No content' })
