import fp from 'fastify-plugin'
import fastifyJwt from '@fastify/jwt'
import type { FastifyInstance, FastifyRequest } from 'fastify'
import { PanError } from '../errors.ts'
import { principalFromClaims, type Principal } from '../auth.ts'
import type { JwtKeys } from '../secrets.ts'

declare module 'fastify' {
  interface FastifyRequest {
    /** The authenticated caller; set on every `/v1` route. */
    principal: Principal
  }
  interface FastifyInstance {
    /** Verifies a raw token against the pinned algorithm; null when refused. */
    verifyToken: (token: string | undefined) => Principal | null
  }
  interface FastifyContextConfig {
    /** Routes open without a token (health, metrics, docs). */
    public?: boolean
  }
}

/** Only `/v1` routes need a token; health, metrics, docs and routes marked `public` do not. */
export function isProtected (request: FastifyRequest): boolean {
  return request.url.startsWith('/v1/') && request.routeOptions.config.public !== true
}

/** Bearer token from the Authorization header. */
export function bearerToken (request: FastifyRequest): string | undefined {
  const header = request.headers.authorization
  if (header === undefined) return undefined
  const [scheme, token] = header.split(' ')
  return scheme?.toLowerCase() === 'bearer' && token !== undefined && token !== '' ? token : undefined
}

/**
 * JWT verification with the algorithm pinned (fast-jwt accepts every algorithm unless told),
 * `exp` required, and the contract's claim rules. Every non-public route requires a principal;
 * a network-banned user gets 403 `banned` on every REST call.
 */
export const authPlugin = fp(async (app: FastifyInstance, opts: { keys: JwtKeys, isNetworkBanned: (userId: string) => Promise<boolean>, seen: (p: Principal) => Promise<unknown> }) => {
  await app.register(fastifyJwt, {
    secret: opts.keys.algorithm === 'HS256' ? opts.keys.verifyKey : { public: opts.keys.verifyKey, private: opts.keys.signKey ?? '' },
    // Verified tokens are cached (fast-jwt keeps an entry no longer than the token's `exp`): a
    // dashboard polling history sends the same token every time. fast-jwt's own key (a hash of
    // the token) is kept: a custom one makes it print a security warning at start.
    verify: { algorithms: [opts.keys.algorithm], requiredClaims: ['exp'], cache: 1000 },
    sign: { algorithm: opts.keys.algorithm }
  })
  app.decorate('verifyToken', (token: string | undefined): Principal | null => {
    if (token === undefined || token === '' || token.length > 8192) return null
    try {
      return principalFromClaims(app.jwt.verify(token))
    } catch {
      return null
    }
  })
  app.decorateRequest('principal', null as unknown as Principal)
  app.addHook('onRequest', async (request) => {
    if (!isProtected(request)) return
    const principal = app.verifyToken(bearerToken(request))
    if (principal === null) throw new PanError('PAN_ERR_UNAUTHORIZED', 'a valid bearer token is required')
    request.principal = principal
    if (await opts.isNetworkBanned(principal.id)) throw new PanError('PAN_ERR_BANNED', 'you are banned from this network')
    // A user row is created on first sight of a `sub`, over REST as over WebSocket.
    await opts.seen(principal)
  })
})
