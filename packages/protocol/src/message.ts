import { Type, type Static } from 'typebox'
import { EpochMs, JsonObject, RoomId, Seq } from './ids.ts'

export const UserRef = Type.Object({ id: Type.String(), name: Type.String() })
export type UserRef = Static<typeof UserRef>

export const StreamStatuses = ['complete', 'interrupted', 'aborted'] as const
export type StreamStatus = (typeof StreamStatuses)[number]

/**
 * A stored message: the body of a `message` frame and an item of a history page. `stream` is set
 * when a stream produced it (its `id` is the stream's id).
 */
export const Message = Type.Object({
  room: RoomId,
  seq: Seq,
  id: Type.String(),
  from: UserRef,
  text: Type.Optional(Type.String()),
  data: Type.Optional(JsonObject),
  ts: EpochMs,
  stream: Type.Optional(Type.Object({ status: Type.Enum(['complete', 'interrupted']) }))
})
export type Message = Static<typeof Message>
