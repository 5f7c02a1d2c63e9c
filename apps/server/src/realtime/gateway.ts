import { randomUUID } from 'node:crypto'
import type { WebSocket } from 'ws'
import type { Bus } from '@pan/bus'
import { CloseCode } from '@pan/protocol'
import type { Principal } from '../auth.ts'
import type { Logger } from '../logger.ts'
import type { Metrics } from '../metrics.ts'
import type { Access } from '../services/access.ts'
import type { Users } from '../services/users.ts'
import { Connection } from './connection.ts'
import { errorFrame, type Dispatcher } from './dispatch.ts'
import type { Hub } from './hub.ts'
import type { Streams } from './streams.ts'

export interface GatewayOptions {
  version: string
  heartbeatMs: number
  outboundCapBytes: number
  limits: { maxFrameBytes: number, sendPerSec: number, deltasPerSec: number, connectionsPerUser: number }
}

export interface GatewayDeps {
  hub: Hub
  streams: Streams
  dispatcher: Dispatcher
  access: Access
  users: Users
  bus: Bus
  log: Logger
  metrics: Metrics
  /** Verifies a token; null when it is missing or refused. */
  verify: (token: string | undefined) => Principal | null
}

/**
 * Connection lifecycle: authentication, caps, hello, heartbeats, teardown and drain. Listeners are
 * attached synchronously on accept; frames that arrive while the connection is still being set
 * up wait in its queue rather than being lost.
 */
export class Gateway {
  readonly #deps: GatewayDeps
  readonly #options: GatewayOptions
  readonly #heartbeat: NodeJS.Timeout
  draining = false

  constructor (deps: GatewayDeps, options: GatewayOptions) {
    this.#deps = deps
    this.#options = options
    this.#heartbeat = setInterval(() => { this.#beat() }, options.heartbeatMs).unref()
  }

  accept (socket: WebSocket, token: string | undefined): void {
    const conn = new Connection(randomUUID(), socket, {
      outboundCapBytes: this.#options.outboundCapBytes,
      onSlowConsumer: (c) => {
        this.#deps.metrics.slowConsumers.inc()
        c.cut()
      },
      onSend: (type) => { this.#deps.metrics.framesOut.inc({ type }) }
    })
    let queue: Promise<unknown> = Promise.resolve()
    const ready = this.#open(conn, token).catch((err: unknown) => {
      this.#deps.log.error({ err, connectionId: conn.id }, 'connection set-up failed')
      conn.close(CloseCode.internalError, 'internal error')
      return false
    })
    socket.on('message', (data, isBinary) => {
      queue = queue.then(async () => {
        if (!(await ready) || conn.closed) return
        if (isBinary) {
          conn.send(errorFrame('bad_request', 'binary frames are not accepted; send JSON text'))
          return
        }
        await this.#deps.dispatcher.handle(conn, Buffer.isBuffer(data) ? data.toString('utf8') : Buffer.concat(data as Buffer[]).toString('utf8'))
      })
    })
    socket.on('pong', () => { conn.missedPongs = 0 })
    socket.on('error', (err) => { this.#deps.log.debug({ err, connectionId: conn.id }, 'socket error') })
    socket.on('close', () => {
      conn.closed = true
      ready.then(async (opened) => {
        if (opened) await this.#teardown(conn)
      }).catch((err: unknown) => { this.#deps.log.error({ err, connectionId: conn.id }, 'connection teardown failed') })
    })
  }

  async #open (conn: Connection, token: string | undefined): Promise<boolean> {
    const { access, bus, users } = this.#deps
    const principal = this.#deps.verify(token)
    if (principal === null) {
      conn.close(CloseCode.unauthorized, 'unauthorized')
      return false
    }
    conn.principal = principal
    let banEpoch = access.banEpoch
    if (await access.isNetworkBanned(principal.id)) {
      conn.close(CloseCode.banned, 'banned')
      return false
    }
    if (!(await bus.acquireConnection(principal.id, conn.id, this.#options.limits.connectionsPerUser))) {
      conn.close(CloseCode.tooManyConnections, 'too many connections for this user')
      return false
    }
    try {
      conn.name = await users.seen(principal)
      // A ban that reached this replica while the connection was being set up found no
      // connection of the user to close: look again (from the database: the cache was dropped).
      while (banEpoch !== access.banEpoch) {
        banEpoch = access.banEpoch
        if (await access.isNetworkBanned(principal.id)) {
          conn.close(CloseCode.banned, 'banned')
          await bus.releaseConnection(principal.id, conn.id)
          return false
        }
      }
    } catch (err) {
      await bus.releaseConnection(principal.id, conn.id)
      throw err
    }
    if (conn.closed) {
      await bus.releaseConnection(principal.id, conn.id)
      return false
    }
    this.#deps.hub.addConnection(conn)
    this.#deps.metrics.connections.inc()
    this.#deps.log.debug({ connectionId: conn.id, userId: principal.id, role: principal.role }, 'connection opened')
    conn.send({
      type: 'hello',
      connectionId: conn.id,
      user: { id: principal.id, name: conn.name, role: principal.role },
      server: { version: this.#options.version, replica: this.#deps.bus.replicaId },
      heartbeatMs: this.#options.heartbeatMs,
      limits: this.#options.limits
    })
    return true
  }

  async #teardown (conn: Connection): Promise<void> {
    this.#deps.metrics.connections.dec()
    this.#deps.log.debug({ connectionId: conn.id, userId: conn.principal?.id }, 'connection closed')
    await this.#deps.streams.interruptAll(conn)
    await this.#deps.hub.removeConnection(conn)
    if (conn.principal !== undefined) await this.#deps.bus.releaseConnection(conn.principal.id, conn.id)
  }

  /** Pings every socket; one that missed two pongs is terminated. */
  #beat (): void {
    for (const conn of this.#deps.hub.connections) {
      if (conn.missedPongs >= 2) {
        conn.socket.terminate()
        continue
      }
      conn.missedPongs += 1
      try { conn.socket.ping() } catch { conn.socket.terminate() }
    }
  }

  /** Closes every connection with 1012, spread over `windowMs` so clients do not reconnect in one herd. */
  async drain (windowMs: number): Promise<void> {
    this.draining = true
    const { metrics } = this.#deps
    metrics.draining.set(1)
    const conns = [...this.#deps.hub.connections]
    metrics.drainRemaining.set(conns.length)
    const step = conns.length > 0 ? windowMs / conns.length : 0
    for (const [i, conn] of conns.entries()) {
      conn.close(CloseCode.serviceRestart, 'server restarting')
      metrics.drainRemaining.set(conns.length - i - 1)
      if (step >= 1) await new Promise((resolve) => setTimeout(resolve, step))
    }
  }

  close (): void {
    clearInterval(this.#heartbeat)
  }
}
