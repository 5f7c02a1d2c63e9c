import { Type, type Static } from 'typebox'
import { AgentState, ClientId, EpochMs, JsonObject, Role, RoomId, Seq } from './ids.ts'
import { ErrorCodes } from './codes.ts'
import { Message, StreamStatuses, UserRef } from './message.ts'

const Ref = Type.Optional(Type.String({ maxLength: 64 }))
const Text = Type.String()

/** Client → server frames, one schema per `type`. Unknown fields are ignored. */
export const ClientFrames = {
  join: Type.Object({ type: Type.Literal('join'), room: RoomId, since: Type.Optional(Seq), ref: Ref }),
  leave: Type.Object({ type: Type.Literal('leave'), room: RoomId, ref: Ref }),
  send: Type.Object({
    type: Type.Literal('send'),
    room: RoomId,
    id: ClientId,
    text: Type.Optional(Text),
    data: Type.Optional(JsonObject),
    ref: Ref
  }),
  'stream.start': Type.Object({ type: Type.Literal('stream.start'), room: RoomId, id: ClientId, ref: Ref }),
  'stream.delta': Type.Object({ type: Type.Literal('stream.delta'), id: ClientId, text: Text, ref: Ref }),
  'stream.end': Type.Object({
    type: Type.Literal('stream.end'),
    id: ClientId,
    text: Type.Optional(Text),
    data: Type.Optional(JsonObject),
    ref: Ref
  }),
  'stream.abort': Type.Object({ type: Type.Literal('stream.abort'), id: ClientId, ref: Ref }),
  state: Type.Object({
    type: Type.Literal('state'),
    state: AgentState,
    note: Type.Optional(Type.String({ maxLength: 256 })),
    ref: Ref
  }),
  presence: Type.Object({ type: Type.Literal('presence'), room: RoomId, ref: Ref }),
  ping: Type.Object({ type: Type.Literal('ping'), ref: Ref })
} as const

export type ClientFrameType = keyof typeof ClientFrames
export type ClientFrame = { [K in ClientFrameType]: Static<(typeof ClientFrames)[K]> }[ClientFrameType]
export type ClientFrameOf<K extends ClientFrameType> = Static<(typeof ClientFrames)[K]>

export const ClientFrame = Type.Union(Object.values(ClientFrames))

/** A stored message as members see it, live or replayed. */
export const MessageFrame = Type.Object({ type: Type.Literal('message'), ...Message.properties })
export type MessageFrame = Static<typeof MessageFrame>

export const Limits = Type.Object({
  maxFrameBytes: Type.Integer(),
  sendPerSec: Type.Number(),
  deltasPerSec: Type.Number(),
  connectionsPerUser: Type.Integer()
})
export type Limits = Static<typeof Limits>

/** Server → client frames. */
export const ServerFrames = {
  hello: Type.Object({
    type: Type.Literal('hello'),
    connectionId: Type.String(),
    user: Type.Object({ id: Type.String(), name: Type.String(), role: Role }),
    server: Type.Object({ version: Type.String(), replica: Type.String() }),
    heartbeatMs: Type.Integer(),
    limits: Limits
  }),
  joined: Type.Object({
    type: Type.Literal('joined'),
    room: RoomId,
    seq: Seq,
    ref: Ref,
    truncated: Type.Optional(Type.Object({ from: Seq, to: Seq }))
  }),
  left: Type.Object({ type: Type.Literal('left'), room: RoomId, ref: Ref }),
  ack: Type.Object({
    type: Type.Literal('ack'),
    room: RoomId,
    id: Type.String(),
    seq: Type.Optional(Seq),
    ts: Type.Optional(EpochMs),
    ref: Ref
  }),
  message: MessageFrame,
  'stream.start': Type.Object({ type: Type.Literal('stream.start'), room: RoomId, id: Type.String(), from: UserRef, text: Type.Optional(Type.String()) }),
  'stream.delta': Type.Object({ type: Type.Literal('stream.delta'), room: RoomId, id: Type.String(), from: UserRef, text: Type.String() }),
  'stream.end': Type.Object({
    type: Type.Literal('stream.end'),
    room: RoomId,
    id: Type.String(),
    from: UserRef,
    status: Type.Enum([...StreamStatuses]),
    seq: Type.Optional(Seq)
  }),
  presence: Type.Object({
    type: Type.Literal('presence'),
    room: RoomId,
    members: Type.Array(Type.Object({ id: Type.String(), name: Type.String(), since: EpochMs, state: AgentState })),
    ref: Ref
  }),
  'presence.event': Type.Object({
    type: Type.Union([Type.Literal('presence.join'), Type.Literal('presence.leave'), Type.Literal('presence.state')]),
    room: RoomId,
    user: Type.Object({ id: Type.String(), name: Type.String(), state: AgentState })
  }),
  kicked: Type.Object({ type: Type.Literal('kicked'), room: RoomId, reason: Type.String() }),
  error: Type.Object({
    type: Type.Literal('error'),
    code: Type.Enum([...ErrorCodes]),
    message: Type.String(),
    ref: Ref,
    retryAfterMs: Type.Optional(Type.Integer())
  }),
  pong: Type.Object({ type: Type.Literal('pong'), ts: EpochMs, ref: Ref })
} as const

export type ServerFrameOf<K extends keyof typeof ServerFrames> = Static<(typeof ServerFrames)[K]>
export type ServerFrame = { [K in keyof typeof ServerFrames]: Static<(typeof ServerFrames)[K]> }[keyof typeof ServerFrames]
