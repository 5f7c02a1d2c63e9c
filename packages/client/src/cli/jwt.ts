import { createHmac, randomBytes, sign } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Role } from '@pan/protocol'

export type JwtAlgorithm = 'HS256' | 'RS256' | 'ES256'

/** What signs tokens: the HS256 secret, or a PEM private key for RS256/ES256. */
export interface SigningKey {
  algorithm: JwtAlgorithm
  key: string
  /** Where it came from, for messages (never the key itself). */
  source: string
}

export interface TokenClaims {
  sub: string
  role: Role
  name?: string
}

/** A setting that stops `pan token` (exit 2), named like the server's configuration errors. */
export class ConfigError extends Error {
  override name = 'ConfigError'
}

/**
 * Signs a JWT exactly as the server's own signer (fast-jwt) does: header `{alg, typ: "JWT"}`,
 * payload `{...claims, iat, exp}` in seconds. ES256 signatures are the raw r‖s pair JWS
 * requires (node:crypto's default DER form would be refused).
 */
export function signJwt (key: SigningKey, claims: TokenClaims, ttlSeconds: number, nowMs = Date.now()): string {
  const iat = Math.floor(nowMs / 1000)
  const header = encode({ alg: key.algorithm, typ: 'JWT' })
  const payload = encode({ ...claims, iat, exp: Math.floor((nowMs + ttlSeconds * 1000) / 1000) })
  const input = `${header}.${payload}`
  return `${input}.${signature(key, input)}`
}

function signature (key: SigningKey, input: string): string {
  if (key.algorithm === 'HS256') return createHmac('sha256', key.key).update(input).digest('base64url')
  const data = Buffer.from(input)
  if (key.algorithm === 'RS256') return sign('sha256', data, key.key).toString('base64url')
  return sign('sha256', data, { key: key.key, dsaEncoding: 'ieee-p1363' }).toString('base64url')
}

function encode (value: object): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url')
}

/**
 * The key the server verifies with, from the same environment (apps/server/src/config.ts and
 * secrets.ts): `JWT_ALGORITHM` (default HS256); HS256 takes `JWT_SECRET`, or in embedded mode (no
 * `DATABASE_URL`) the dev secret in `PAN_DATA_DIR/jwt-secret` (default `./data`), generated the
 * way the server generates it if it is not there yet; RS256/ES256 take `JWT_PRIVATE_KEY`.
 */
export function signingKeyFromEnv (env: Record<string, string | undefined>): SigningKey {
  const get = (name: string): string | undefined => env[name] === '' ? undefined : env[name]
  const algorithm = get('JWT_ALGORITHM') ?? 'HS256'
  if (algorithm !== 'HS256' && algorithm !== 'RS256' && algorithm !== 'ES256') {
    throw new ConfigError(`JWT_ALGORITHM must be HS256, RS256 or ES256, got ${algorithm}`)
  }
  if (algorithm !== 'HS256') {
    const pem = get('JWT_PRIVATE_KEY')
    if (pem === undefined) throw new ConfigError(`JWT_PRIVATE_KEY is needed to sign ${algorithm} tokens`)
    return { algorithm, key: pem, source: 'JWT_PRIVATE_KEY' }
  }
  const secret = get('JWT_SECRET')
  if (secret !== undefined) {
    if (secret.length < 32) throw new ConfigError('JWT_SECRET must be at least 32 characters (the server refuses a shorter one)')
    return { algorithm, key: secret, source: 'JWT_SECRET' }
  }
  if (get('DATABASE_URL') !== undefined) {
    throw new ConfigError('JWT_SECRET is required when DATABASE_URL is set (a generated dev secret is for embedded mode only)')
  }
  const dir = get('PAN_DATA_DIR') ?? './data'
  const file = join(dir, 'jwt-secret')
  mkdirSync(dir, { recursive: true })
  if (!existsSync(file)) {
    try {
      writeFileSync(file, randomBytes(32).toString('base64url'), { mode: 0o600, flag: 'wx' })
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err // a server wrote it first
    }
  }
  return { algorithm, key: readFileSync(file, 'utf8').trim(), source: file }
}

/** A TTL like 90, 90s, 30m, 1h or 7d, in seconds; null when it is not one. */
export function parseTtl (text: string): number | null {
  const m = /^(\d+)([smhd]?)$/.exec(text.trim())
  if (m === null) return null
  const unit = { '': 1, s: 1, m: 60, h: 3600, d: 86400 }[m[2] as '' | 's' | 'm' | 'h' | 'd']
  const seconds = Number(m[1]) * unit
  return seconds > 0 ? seconds : null
}
