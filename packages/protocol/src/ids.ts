import { Type } from 'typebox'

/** Room ids: 1..64 chars of `[a-z0-9._-]`. */
export const RoomId = Type.String({ minLength: 1, maxLength: 64, pattern: '^[a-z0-9._-]{1,64}$' })
/** User ids (the JWT `sub`): 1..64 chars of `[A-Za-z0-9._:-]`. */
export const UserId = Type.String({ minLength: 1, maxLength: 64, pattern: '^[A-Za-z0-9._:-]{1,64}$' })
/** A client-chosen message or stream id: 1..64 chars, no control characters. */
export const ClientId = Type.String({ minLength: 1, maxLength: 64, pattern: '^[^\\u0000-\\u001f\\u007f]{1,64}$' })
/** A message sequence number within a room; 0 means "before the first message". */
export const Seq = Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER })
/** Epoch milliseconds. */
export const EpochMs = Type.Integer({ minimum: 0 })
/** Any JSON object carried as a message's structured payload. */
export const JsonObject = Type.Record(Type.String(), Type.Unknown())

export const ROOM_ID_RE = /^[a-z0-9._-]{1,64}$/
export const USER_ID_RE = /^[A-Za-z0-9._:-]{1,64}$/

export const Roles = ['agent', 'viewer', 'admin'] as const
export type Role = (typeof Roles)[number]
export const Role = Type.Enum([...Roles])

export const AgentStates = ['idle', 'thinking', 'streaming', 'waiting', 'busy'] as const
export type AgentState = (typeof AgentStates)[number]
export const AgentState = Type.Enum([...AgentStates])
