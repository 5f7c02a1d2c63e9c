import { createSigner } from 'fast-jwt'
import type { Role } from '@pan/protocol'
import type { JwtKeys } from './secrets.ts'

/** Mints a token with the configured key (`pan token`, the dev admin token, tests). */
export function signToken (keys: JwtKeys, claims: { sub: string, role?: Role, name?: string }, ttlSeconds: number): string {
  if (keys.signKey === undefined) throw new Error(`JWT_PRIVATE_KEY is needed to sign ${keys.algorithm} tokens`)
  const sign = createSigner({ key: keys.signKey, algorithm: keys.algorithm, expiresIn: ttlSeconds * 1000 })
  return sign({ ...claims })
}
