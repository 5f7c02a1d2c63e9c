import Fastify, { type FastifyBaseLogger, type FastifyInstance, type FastifyServerOptions } from 'fastify'
import type { Redis } from 'ioredis'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import fastifyRateLimit from '@fastify/rate-limit'
import fastifyWebsocket from '@fastify/websocket'
import type { Bus } from '@pan/bus'
import type { DatabaseHandle } from '@pan/db'
import type { Config } from './config.ts'
import { createCore, type Core } from './core.ts'
import { createMetrics, type Metrics } from './metrics.ts'
import type { JwtKeys } from './secrets.ts'
import { errorBody, errorsPlugin } from './plugins/errors.ts'
import { authPlugin, isProtected } from './plugins/auth.ts'
import { openapiPlugin } from './plugins/openapi.ts'
import { validatorCompiler } from './plugins/validation.ts'
import { PanError } from './errors.ts'
import { routes } from './routes/index.ts'

declare module 'fastify' {
  interface FastifyInstance {
    config: Config
    core: Core
    database: DatabaseHandle
    bus: Bus
    metrics: Metrics
  }
}

export interface AppDeps {
  config: Config
  database: DatabaseHandle
  bus: Bus
  keys: JwtKeys
  logger?: FastifyServerOptions['logger']
  /** A ready logger (the replica's, shared with the bus); wins over `logger`. */
  loggerInstance?: FastifyBaseLogger
  /** Redis for the REST rate-limit counters, so that every replica counts the same requests. */
  rateLimitRedis?: Redis
}

export type App = FastifyInstance

/**
 * Builds the app: external plugins, then app plugins (auth, core), then routes. It does not
 * listen and does not own the database or bus: `server.ts` and the tests open and close those.
 */
export async function buildApp (deps: AppDeps): Promise<App> {
  const { config } = deps
  const app = Fastify({
    ...(deps.loggerInstance === undefined ? { logger: deps.logger ?? false } : { loggerInstance: deps.loggerInstance }),
    bodyLimit: Math.max(config.PAN_MAX_FRAME_BYTES * 2, 1024 * 1024),
    requestIdHeader: 'x-request-id',
    ...(config.PAN_TRUST_PROXY === undefined ? {} : { trustProxy: config.PAN_TRUST_PROXY }),
    ajv: { customOptions: { coerceTypes: false } }
  }).withTypeProvider<TypeBoxTypeProvider>()
  app.setValidatorCompiler(validatorCompiler)

  const metrics = createMetrics()
  app.decorate('config', config)
  app.decorate('database', deps.database)
  app.decorate('bus', deps.bus)
  app.decorate('metrics', metrics)

  await app.register(errorsPlugin)
  await app.register(openapiPlugin)
  await app.register(fastifyRateLimit, {
    global: false,
    // Shared counters in cluster mode; if Redis is briefly down, serve rather than refuse.
    ...(deps.rateLimitRedis === undefined ? {} : { redis: deps.rateLimitRedis, nameSpace: 'pan:rl:', skipOnError: true }),
    errorResponseBuilder: (_req, ctx) => {
      metrics.rateLimited.inc({ kind: 'rest' })
      const err = Object.assign(new Error(`rate limit exceeded, retry in ${ctx.after}`), errorBody('rate_limited', `rate limit exceeded, retry in ${ctx.after}`))
      return err
    }
  })
  // Per IP before authentication (a plain check: the plugin runs one hook handler per request),
  // then per user after it, with the plugin's headers. Both use the plugin's store.
  const perMinute = { max: config.PAN_REST_PER_MIN, timeWindow: 60_000 }
  const checkIp = app.createRateLimit({ ...perMinute, max: config.PAN_REST_PER_MIN * 2, keyGenerator: (req) => `ip:${req.ip}` })
  app.addHook('onRequest', async (req, reply) => {
    if (!isProtected(req)) return
    const decision = await checkIp(req)
    if (decision.isAllowed || !decision.isExceeded) return
    metrics.rateLimited.inc({ kind: 'rest' })
    reply.header('retry-after', decision.ttlInSeconds)
    throw new PanError('PAN_ERR_RATE_LIMITED', `rate limit exceeded, retry in ${decision.ttlInSeconds} s`, { retryAfterMs: decision.ttl })
  })

  const core = createCore({
    config,
    db: deps.database.db,
    bus: deps.bus,
    log: app.log,
    metrics,
    verify: (token) => app.verifyToken(token)
  })
  app.decorate('core', core)
  await app.register(authPlugin, { keys: deps.keys, isNetworkBanned: async (id) => await core.access.isNetworkBanned(id), seen: async (p) => await core.users.seen(p) })
  const byUser = app.rateLimit({ ...perMinute, keyGenerator: (req) => `user:${req.principal.id}` })
  app.addHook('onRequest', async (req, reply) => { if (isProtected(req)) await byUser.call(app, req, reply) })

  await app.register(fastifyWebsocket, {
    options: { maxPayload: config.PAN_MAX_FRAME_BYTES },
    // The default preClose closes every socket at once with no code; drain with 1012 instead.
    preClose: async () => { await core.gateway.drain(0) }
  })
  await app.register(routes)
  app.addHook('onClose', async () => { await core.close() })
  return app
}
