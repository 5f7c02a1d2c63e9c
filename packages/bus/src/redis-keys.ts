/** Key and channel names of one `RedisBus` keyspace; `redis-scripts.ts` describes each key. */
export class RedisKeys {
  readonly prefix: string
  /** The channel of control events. */
  readonly control: string
  /** Channels of rooms start with this. */
  readonly roomChannelPrefix: string
  readonly states: string
  readonly replicas: string
  readonly reports: string

  constructor (prefix: string) {
    this.prefix = prefix
    this.control = `${prefix}control`
    this.roomChannelPrefix = `${prefix}room:`
    this.states = `${prefix}st`
    this.replicas = `${prefix}replicas`
    this.reports = `${prefix}reports`
  }

  roomChannel (room: string): string { return `${this.roomChannelPrefix}${room}` }
  roomConnections (room: string): string { return `${this.prefix}pc:${room}` }
  roomUsers (room: string): string { return `${this.prefix}pu:${room}` }
  replicaPresence (replica: string): string { return `${this.prefix}rp:${replica}` }
  replicaConnections (replica: string): string { return `${this.prefix}rc:${replica}` }
  userConnections (user: string): string { return `${this.prefix}cn:${user}` }
  bucket (key: string): string { return `${this.prefix}tb:${key}` }
}
