import { Type, type Static, type TSchema } from 'typebox'
import { ClientId, JsonObject, Role, RoomId, Seq, UserId, EpochMs } from './ids.ts'
import { ErrorCodes } from './codes.ts'

const IsoDate = Type.String({ format: 'date-time' })
const Nullable = <T extends TSchema>(t: T) => Type.Union([t, Type.Null()])

export const ErrorBody = Type.Object({
  statusCode: Type.Integer(),
  code: Type.Enum([...ErrorCodes]),
  error: Type.String(),
  message: Type.String()
}, { $id: 'ErrorBody' })
export type ErrorBody = Static<typeof ErrorBody>

/** A cursor-paginated list. `nextCursor` is opaque, carries the whole query, and is null at the end. */
export const Page = <T extends TSchema>(item: T) => Type.Object({ items: Type.Array(item), nextCursor: Nullable(Type.String()) })
export const PageQuery = {
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 50 })),
  cursor: Type.Optional(Type.String({ maxLength: 2048 }))
}

export const RoomConfig = Type.Object({
  /** UTF-8 bytes of `text` plus serialised `data` allowed per message. */
  maxMessageBytes: Type.Optional(Type.Integer({ minimum: 1, maximum: 16 * 1024 * 1024 })),
  /** Sends per second per user in this room (on top of the global per-user budget). */
  sendPerSec: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: 100000 })),
  /** Messages older than this many days are deleted. */
  retentionDays: Type.Optional(Type.Integer({ minimum: 1, maximum: 36500 })),
  /** false: members see history only from their first join on. Default true. */
  historyForNewMembers: Type.Optional(Type.Boolean())
}, { additionalProperties: false })
export type RoomConfig = Static<typeof RoomConfig>

export const Visibility = Type.Union([Type.Literal('public'), Type.Literal('private')])
export type Visibility = Static<typeof Visibility>

export const Room = Type.Object({
  id: RoomId,
  name: Type.String(),
  visibility: Visibility,
  config: RoomConfig,
  metadata: JsonObject,
  createdBy: Nullable(Type.String()),
  createdAt: IsoDate,
  closedAt: Nullable(IsoDate),
  lastSeq: Seq,
  onlineCount: Type.Integer({ minimum: 0 })
})
export type Room = Static<typeof Room>

export const CreateRoomBody = Type.Object({
  id: Type.Optional(RoomId),
  name: Type.String({ minLength: 1, maxLength: 200 }),
  visibility: Visibility,
  config: Type.Optional(RoomConfig),
  metadata: Type.Optional(JsonObject)
})
export type CreateRoomBody = Static<typeof CreateRoomBody>

export const PatchRoomBody = Type.Object({
  name: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
  visibility: Type.Optional(Visibility),
  config: Type.Optional(RoomConfig),
  metadata: Type.Optional(JsonObject)
})
export type PatchRoomBody = Static<typeof PatchRoomBody>

export const RoomMember = Type.Object({ user: UserId, addedBy: Nullable(Type.String()), addedAt: IsoDate })
export type RoomMember = Static<typeof RoomMember>

export const PresenceMember = Type.Object({ id: Type.String(), name: Type.String(), since: EpochMs, state: Type.String() })
export type PresenceMember = Static<typeof PresenceMember>

export const HistoryQuery = Type.Object({
  after: Type.Optional(Seq),
  before: Type.Optional(Seq),
  from: Type.Optional(UserId),
  ...PageQuery
})

export const PostMessageBody = Type.Object({
  id: ClientId,
  text: Type.Optional(Type.String()),
  data: Type.Optional(JsonObject)
})
export type PostMessageBody = Static<typeof PostMessageBody>

export const PostMessageReply = Type.Object({ room: RoomId, id: Type.String(), seq: Seq, ts: EpochMs })

export const Ban = Type.Object({
  id: Type.String(),
  user: Type.String(),
  room: Nullable(Type.String()),
  reason: Nullable(Type.String()),
  createdBy: Nullable(Type.String()),
  createdAt: IsoDate,
  expiresAt: Nullable(IsoDate),
  liftedAt: Nullable(IsoDate)
})
export type Ban = Static<typeof Ban>

export const CreateBanBody = Type.Object({
  user: UserId,
  room: Type.Optional(RoomId),
  reason: Type.Optional(Type.String({ maxLength: 1000 })),
  expiresAt: Type.Optional(IsoDate)
})
export type CreateBanBody = Static<typeof CreateBanBody>

export const BanQuery = Type.Object({
  room: Type.Optional(RoomId),
  user: Type.Optional(UserId),
  active: Type.Optional(Type.Union([Type.Literal('true'), Type.Literal('false')])),
  ...PageQuery
})

export const User = Type.Object({
  id: UserId,
  name: Type.String(),
  role: Role,
  metadata: JsonObject,
  createdAt: IsoDate,
  lastSeenAt: Nullable(IsoDate)
})
export type User = Static<typeof User>

export const PatchUserBody = Type.Object({
  name: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
  metadata: Type.Optional(JsonObject)
})
export type PatchUserBody = Static<typeof PatchUserBody>

export const ReplicaStats = Type.Object({
  id: Type.String(),
  connections: Type.Integer(),
  messagesPerSec: Type.Number(),
  startedAt: IsoDate
})
export const Stats = Type.Object({
  connections: Type.Integer(),
  rooms: Type.Integer(),
  messagesPerSec: Type.Number(),
  replicas: Type.Array(ReplicaStats)
})
export type Stats = Static<typeof Stats>
