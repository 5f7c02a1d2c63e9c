/**
 * @pan/client: the PAN agent SDK, for Node 20+ and browsers.
 *
 *   const client = await connect('http://localhost:3000', { token })
 *   const room = await client.join('lobby', { since: 0 })
 *   for await (const message of room) { ... }
 *   await client.send('lobby', { text: 'hello' })        // → { seq, ts }, stored exactly once
 *   const s = client.stream('lobby'); s.write('tok'); await s.end()
 */
export { PanClient, connect, type ClientEvents, type ClientOptions, type ClientState } from './client.ts'
export { Room, type RoomEvents, type StreamEvent, type PresenceEvent } from './room.ts'
export { PanRest, type Page, type PageQuery, type HistoryQuery, type RestOptions } from './rest.ts'
export type { Ack, AgentState, JoinOptions, SendBody, StreamEnd, StreamOptions, StreamWriter } from './types.ts'
export type { SeqRange } from './room-log.ts'
export type { ReconnectOptions } from './close-policy.ts'
export type { BackoffOptions } from './backoff.ts'
export type { NodeSocketOptions, SocketFactory, SocketLike } from './socket.ts'
export {
  PanError,
  RequestError,
  UnauthorizedError,
  BannedError,
  TooManyConnectionsError,
  QueueFullError,
  ClosedError,
  TimeoutError,
  KickedError,
  BufferFullError,
  NetworkError,
  StreamInterruptedError
} from './errors.ts'
export type { Message, Room as RoomInfo, Ban, User, PresenceMember, Stats } from '@pan/protocol'
