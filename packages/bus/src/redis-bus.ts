import { randomUUID } from 'node:crypto'
import { Redis } from 'ioredis'
import type { Bus, ControlEvent, ExpiredPresence, Presence, RateDecision, ReplicaReport } from './bus.ts'
import { RedisFanout } from './redis-fanout.ts'
import { RedisKeys } from './redis-keys.ts'
import { consoleLogger, OutageLog, type BusLogger } from './redis-log.ts'
import { RedisPresence } from './redis-presence.ts'
import { defineScripts, type Scripts } from './redis-scripts.ts'
import { RedisTakes } from './redis-takes.ts'
import { TokenBuckets } from './token-bucket.ts'

export interface RedisBusOptions {
  /** `redis://` or `rediss://` URL of the Redis server (standalone; not Redis Cluster). */
  url: string
  /** This replica's id, unique in the cluster. @default 8 random hex digits */
  replicaId?: string
  /** Prefix of every key and channel, so that several deployments can share one Redis. @default 'pan:' */
  keyPrefix?: string
  /**
   * How long this replica's presence and connections outlive its last heartbeat, in ms: a killed
   * replica's users leave within `leaseMs + heartbeatMs`. @default 15000
   */
  leaseMs?: number
  /** How often the lease is renewed and dead replicas are looked for, in ms. @default 5000 */
  heartbeatMs?: number
  /**
   * How long a Redis command may take before it fails, in ms, so that nothing waits forever
   * while Redis is down (ioredis reconnects by itself meanwhile). @default 2000
   */
  commandTimeoutMs?: number
  /** @default the console */
  logger?: BusLogger
}

/** How long a replica's report counts after it was written, in ms (replicas report every second). */
const REPORT_TTL_MS = 5000

/**
 * The cluster bus: fan-out and control events over Redis pub/sub, presence, connection caps,
 * rate buckets and reports in Redis, on two connections (commands, and a subscriber).
 *
 * Presence is leased: each replica renews its lease every `heartbeatMs`, and the first replica to
 * see another's lease run out removes what that one registered and announces the leaves
 * (`onPresenceExpired`). A replica that finds its lease gone (Redis lost its data, or it was
 * taken for dead) writes back what it registered, from a mirror it keeps in memory.
 */
export class RedisBus implements Bus {
  readonly replicaId: string
  readonly presence: Presence
  readonly #redis: Redis & Scripts
  readonly #sub: Redis
  readonly #keys: RedisKeys
  readonly #log: BusLogger
  readonly #leaseMs: number
  readonly #fanout: RedisFanout
  readonly #presence: RedisPresence
  readonly #expired = new Set<(left: ExpiredPresence[]) => void>()
  /** Decides while Redis is unreachable: a short outage must not stop traffic. */
  readonly #buckets = new TokenBuckets()
  readonly #takes: RedisTakes
  readonly #timers: NodeJS.Timeout[]
  readonly #started: Promise<void>
  readonly #heartbeatOutage: OutageLog
  #beating: Promise<void> | undefined
  /** Set when the command connection came back, behind a Redis that may have restarted empty. */
  #mustReassert = false
  #closing: Promise<void> | undefined
  /** Presence of an earlier process with this replica's id, removed at start. */
  #inherited: ExpiredPresence[] = []

  /** Connects and resolves once both connections are ready and the lease is taken. */
  static async connect (options: RedisBusOptions): Promise<RedisBus> {
    const bus = new RedisBus(options)
    try {
      await bus.ready()
    } catch (err) {
      await bus.close()
      throw err
    }
    return bus
  }

  /** Starts connecting; use `ready()` (or `RedisBus.connect`) before relying on the bus. */
  constructor (options: RedisBusOptions) {
    this.replicaId = options.replicaId ?? randomUUID().slice(0, 8)
    this.#keys = new RedisKeys(options.keyPrefix ?? 'pan:')
    const log = options.logger ?? consoleLogger
    this.#log = log
    this.#leaseMs = options.leaseMs ?? 15_000
    const heartbeatMs = options.heartbeatMs ?? 5000
    // Otherwise every replica's lease runs out between its own heartbeats and they reap each other.
    if (!(heartbeatMs > 0 && this.#leaseMs > heartbeatMs)) throw new RangeError('RedisBus: leaseMs must exceed heartbeatMs, which must be positive')
    // CLIENT SETNAME refuses spaces; the name only helps an operator reading CLIENT LIST.
    const name = `${this.#keys.prefix}${this.replicaId}`.replace(/[^!-~]/g, '_')
    // Auto-pipelining: the publishes and presence scripts issued in one tick (a commit batch
    // over many rooms, a herd of connects) go out in one write instead of one each.
    this.#redis = defineScripts(new Redis(options.url, { commandTimeout: options.commandTimeoutMs ?? 2000, connectionName: `${name}:cmd`, enableAutoPipelining: true }))
    this.#sub = this.#redis.duplicate({ connectionName: `${name}:sub`, enableAutoPipelining: false })
    this.#fanout = new RedisFanout(this.#redis, this.#sub, this.#keys, log)
    this.#presence = new RedisPresence(this.#redis, this.#keys, this.replicaId)
    this.presence = this.#presence
    this.#heartbeatOutage = new OutageLog((obj, msg) => { log.warn(obj, msg) }, 'redis bus: heartbeat failed; presence leases are not renewed')
    this.#takes = new RedisTakes(this.#redis, this.#keys, this.#buckets, new OutageLog((obj, msg) => { log.warn(obj, msg) }, 'redis bus: Redis unavailable, rate limits fall back to this replica\'s own buckets'))
    this.#watch(this.#redis, 'command', () => { this.#afterReconnect() })
    this.#watch(this.#sub, 'subscriber', () => {
      this.#fanout.resync().catch((err: unknown) => { log.warn({ err }, 'redis bus: resubscribing after a reconnect failed') })
    })
    this.#timers = [
      setInterval(() => { this.#tick() }, heartbeatMs).unref(),
      setInterval(() => { this.#buckets.sweep(60_000) }, 60_000).unref()
    ]
    this.#started = this.#start()
    // Whoever awaits `ready()` sees a failure; nobody awaiting is no unhandled rejection.
    this.#started.catch(() => {})
  }

  /** Resolves once both connections are ready and the lease is taken; waits while Redis is down. */
  async ready (): Promise<void> {
    await this.#started
  }

  async publish (room: string, payload: string): Promise<void> {
    await this.#fanout.publish(room, payload)
  }

  async publishMany (entries: ReadonlyArray<{ room: string, payload: string }>): Promise<void> {
    await this.#fanout.publishMany(entries)
  }

  subscribe (room: string, handler: (payload: string) => void): () => void {
    return this.#fanout.subscribe(room, handler)
  }

  async subscribed (room: string): Promise<void> {
    await this.#fanout.subscribed(room)
  }

  /** Goes through Redis to every replica, this one included, in the order sent. */
  async control (event: ControlEvent): Promise<void> {
    await this.#fanout.control(event)
  }

  onControl (handler: (event: ControlEvent) => void): () => void {
    return this.#fanout.onControl(handler)
  }

  async acquireConnection (userId: string, connectionId: string, max: number): Promise<boolean> {
    return await this.#presence.acquire(userId, connectionId, max)
  }

  async releaseConnection (userId: string, connectionId: string): Promise<void> {
    await this.#presence.release(userId, connectionId)
  }

  async take (key: string, perSec: number): Promise<RateDecision> {
    // A rate of zero never refills: nothing to share, and the script would divide by it.
    if (!(perSec > 0)) return this.#buckets.take(key, perSec)
    return await this.#takes.take(key, perSec)
  }

  /** Stamped with this replica's clock; reports are read within seconds, far above NTP skew. */
  async report (report: ReplicaReport): Promise<void> {
    await this.#redis.hset(this.#keys.reports, report.id, JSON.stringify({ report, at: Date.now() }))
  }

  /** Reports written within the last 5 s; older ones (replicas gone) are deleted. */
  async replicas (): Promise<ReplicaReport[]> {
    const all = await this.#redis.hgetall(this.#keys.reports)
    const now = Date.now()
    const fresh: ReplicaReport[] = []
    const stale: string[] = []
    for (const [id, raw] of Object.entries(all)) {
      const { report, at } = JSON.parse(raw) as { report: ReplicaReport, at: number }
      if (now - at <= REPORT_TTL_MS) fresh.push(report)
      else stale.push(id)
    }
    if (stale.length > 0) await this.#redis.hdel(this.#keys.reports, ...stale)
    return fresh
  }

  onResync (handler: () => void): () => void {
    return this.#fanout.onResync(handler)
  }

  onPresenceExpired (handler: (left: ExpiredPresence[]) => void): () => void {
    this.#expired.add(handler)
    // A predecessor's leftovers, reaped at start before anyone could listen, go to the first listener.
    const inherited = this.#inherited
    this.#inherited = []
    if (inherited.length > 0) queueMicrotask(() => { this.#announce(inherited) })
    return () => { this.#expired.delete(handler) }
  }

  #announce (left: ExpiredPresence[]): void {
    for (const handler of this.#expired) {
      try {
        handler(left)
      } catch (err) {
        this.#log.error({ err }, 'redis bus: an onPresenceExpired handler threw')
      }
    }
  }

  /** Fails at once while disconnected, rather than after the command timeout. */
  async ping (): Promise<void> {
    if (this.#redis.status !== 'ready') throw new Error(`redis connection is ${this.#redis.status}`)
    await this.#redis.ping()
  }

  /**
   * Stops the heartbeat, removes this replica's presence, connections, lease and report from
   * Redis (its users leave at once; no `onPresenceExpired` fires for a clean close) and quits.
   */
  async close (): Promise<void> {
    this.#closing ??= this.#shutdown()
    await this.#closing
  }

  async #shutdown (): Promise<void> {
    for (const timer of this.#timers) clearInterval(timer)
    this.#fanout.clear()
    this.#expired.clear()
    // A heartbeat still running could write registrations back after they were removed.
    await this.#beating?.catch(() => {})
    if (this.#redis.status === 'ready') {
      try {
        await Promise.all([this.#presence.leave(), this.#redis.hdel(this.#keys.reports, this.replicaId)])
      } catch (err) {
        this.#log.warn({ err }, 'redis bus: removing this replica\'s presence at close failed; its lease will expire')
      }
    }
    await Promise.all([quit(this.#redis), quit(this.#sub)])
  }

  async #start (): Promise<void> {
    await Promise.all([untilReady(this.#redis), untilReady(this.#sub)])
    await this.#fanout.start()
    this.#inherited = await this.#presence.reapPredecessor()
    await this.#beat()
  }

  /** Logs connection errors once per outage and calls `onReconnect` on every `ready` but the first. */
  #watch (redis: Redis, role: string, onReconnect: () => void): void {
    const outage = new OutageLog((obj, msg) => { this.#log.error(obj, msg) }, `redis bus: ${role} connection failed; reconnecting`)
    let connected = false
    redis.on('error', (err: unknown) => { outage.failed(err) })
    redis.on('ready', () => {
      outage.recovered()
      if (this.#closing !== undefined) return
      if (connected) onReconnect()
      connected = true
    })
  }

  /** The command connection is back: Redis may have restarted empty, so write back at once. */
  #afterReconnect (): void {
    this.#mustReassert = true
    this.#tick()
  }

  #tick (): void {
    if (this.#redis.status !== 'ready' || this.#closing !== undefined) return
    this.#beat().then(() => { this.#heartbeatOutage.recovered() }, (err: unknown) => { this.#heartbeatOutage.failed(err) })
  }

  /** One heartbeat at a time: a slow one (Redis timing out) is not stacked upon. */
  async #beat (): Promise<void> {
    this.#beating ??= this.#heartbeat().finally(() => { this.#beating = undefined })
    await this.#beating
  }

  /**
   * Renews the lease, writes this replica's registrations back if the lease was gone (or the
   * connection came back), then reaps expired replicas. Lease first, so nothing is written back
   * under a lease that another replica could reap meanwhile.
   */
  async #heartbeat (): Promise<void> {
    const [added, ...expired] = await this.#redis.panHeartbeat(this.#keys.replicas, this.replicaId, this.#leaseMs)
    if (added === 1 || this.#mustReassert) {
      this.#mustReassert = false
      try {
        await this.#presence.reassert()
      } catch (err) {
        this.#mustReassert = true
        throw err
      }
    }
    for (const replica of expired) {
      const left = await this.#presence.reap(replica)
      if (left !== null && left.length > 0) this.#announce(left)
    }
  }
}

async function untilReady (redis: Redis): Promise<void> {
  if (redis.status === 'ready') return
  await new Promise<void>((resolve, reject) => {
    const onReady = (): void => {
      redis.off('end', onEnd)
      resolve()
    }
    const onEnd = (): void => {
      redis.off('ready', onReady)
      reject(new Error('redis bus: the connection was closed before it was ready'))
    }
    redis.once('ready', onReady)
    redis.once('end', onEnd)
  })
}

/** QUIT when connected (pending replies arrive first), else just drop the socket and the retries. */
async function quit (redis: Redis): Promise<void> {
  if (redis.status === 'end') return
  if (redis.status === 'ready') {
    try {
      await redis.quit()
      return
    } catch {}
  }
  redis.disconnect()
}
