import type { Bus, ReplicaReport } from '@pan/bus'
import type { Database } from '@pan/db'
import type { Config } from './config.ts'
import type { Principal } from './auth.ts'
import type { Logger } from './logger.ts'
import type { Metrics } from './metrics.ts'
import { Access } from './services/access.ts'
import { WriteBatcher } from './services/batcher.ts'
import { SendLimits } from './services/limits.ts'
import { MessageService } from './services/messages.ts'
import { Users } from './services/users.ts'
import { Dispatcher } from './realtime/dispatch.ts'
import { Gateway } from './realtime/gateway.ts'
import { Hub } from './realtime/hub.ts'
import { Streams } from './realtime/streams.ts'
import { Throughput } from './services/throughput.ts'
import { startRetention } from './services/retention.ts'

export const VERSION = '0.1.0'

/**
 * Commits in flight at once on Postgres, unless PAN_COMMIT_LANES says otherwise. One: on the
 * 2-core bench machine fewer, larger commits cost Postgres less per message (pairs at 2,000 msg/s:
 * 114 µs against 216 with 4 lanes) and the replica keeps up with 5,000 msg/s where 2 or 4 lanes
 * fell behind; 4 lanes acked more in a closed loop (19.4k/s against 16.3k). A larger machine
 * with Postgres on its own cores may want more.
 */
const COMMIT_LANES = 1

export interface CoreDeps {
  config: Config
  db: Database
  bus: Bus
  log: Logger
  metrics: Metrics
  verify: (token: string | undefined) => Principal | null
}

/** The Fastify-free heart of a replica: services and the real-time core, wired together. */
export function createCore (deps: CoreDeps) {
  const { config, db, bus, log, metrics } = deps
  const access = new Access(db, bus)
  const users = new Users(db)
  const throughput = new Throughput()
  const hub = new Hub({ db, bus, log, metrics })
  const batcher = new WriteBatcher(db, {
    maxWaitMs: config.PAN_BATCH_WAIT_MS,
    maxBatch: config.PAN_BATCH_MAX,
    // Postgres works on several commits at once; PGlite (no DATABASE_URL) runs one query at a time.
    lanes: config.DATABASE_URL === undefined ? 1 : config.PAN_COMMIT_LANES ?? COMMIT_LANES,
    observe: (size, seconds) => {
      metrics.commitBatchSize.observe(size)
      metrics.commitSeconds.observe(seconds)
    },
    onCommitted: (rows) => {
      metrics.messagesCommitted.inc(rows.length)
      throughput.add(rows.length)
      return hub.publishCommitted(rows)
    },
    onError: (err) => { log.error({ err }, 'publishing committed messages failed; replicas catch up from the database') }
  })
  const limits = new SendLimits(bus, { sendPerSec: config.PAN_SEND_PER_SEC, deltasPerSec: config.PAN_DELTAS_PER_SEC })
  const messages = new MessageService({ db, batcher, limits, defaultMaxBytes: config.PAN_MAX_FRAME_BYTES })
  const streams = new Streams({ hub, messages, log, idleMs: config.PAN_STREAM_IDLE_MS })
  const dispatcher = new Dispatcher({ hub, streams, access, messages, limits, bus, log, metrics })
  const gateway = new Gateway({ hub, streams, dispatcher, access, users, bus, log, metrics, verify: deps.verify }, {
    version: VERSION,
    heartbeatMs: config.PAN_HEARTBEAT_MS,
    outboundCapBytes: config.PAN_OUTBOUND_BUFFER_BYTES,
    limits: {
      maxFrameBytes: config.PAN_MAX_FRAME_BYTES,
      sendPerSec: config.PAN_SEND_PER_SEC,
      deltasPerSec: config.PAN_DELTAS_PER_SEC,
      connectionsPerUser: config.PAN_CONNECTIONS_PER_USER
    }
  })
  const stopControl = bus.onControl((event) => {
    hub.onControl(event).catch((err: unknown) => { log.error({ err, event: event.type }, 'control event failed') })
  })
  const stopResync = bus.onResync(() => {
    access.forgetAll()
    hub.checkHeads(true).catch((err: unknown) => { log.warn({ err }, 'catch-up after a bus resync failed') })
  })
  const stopExpired = bus.onPresenceExpired((left) => {
    hub.onPresenceExpired(left).catch((err: unknown) => { log.warn({ err }, 'announcing expired presence failed') })
  })
  const catchUp = setInterval(() => {
    hub.checkHeads().catch((err: unknown) => { log.warn({ err }, 'room head check failed') })
  }, config.PAN_CATCHUP_MS).unref()
  const stopRetention = startRetention(db, log)
  const startedAt = Date.now()
  /** This replica's figures for `/v1/stats`, as published on the bus. */
  const report = (): ReplicaReport => ({ id: bus.replicaId, connections: hub.connections.size, messagesPerSec: throughput.perSecond(), startedAt })
  const reporter = setInterval(() => {
    bus.report(report())
      .catch((err: unknown) => { log.warn({ err }, 'replica report failed') })
  }, 1000).unref()

  return {
    access,
    users,
    messages,
    limits,
    hub,
    streams,
    gateway,
    batcher,
    report,
    /** Flushes pending writes and stops timers; the caller closes the database and bus afterwards. */
    async close () {
      clearInterval(reporter)
      clearInterval(catchUp)
      stopRetention()
      stopControl()
      stopResync()
      stopExpired()
      gateway.close()
      await batcher.flush()
      hub.close()
      access.close()
    }
  }
}

export type Core = ReturnType<typeof createCore>
