import { createHmac } from 'node:crypto'
import type { Role } from '@pan/protocol'

export interface TokenClaims {
  sub: string
  role?: Role
  name?: string
}

/**
 * An HS256 JWT as the server expects one (see docs/protocol.md §1): `sub`, `role`, optional
 * `name`, and the required `exp`. Written with node:crypto so that the harness does not reach into
 * the server's source for its signer.
 */
export function signHs256 (secret: string, claims: TokenClaims, ttlSeconds = 3600): string {
  const now = Math.floor(Date.now() / 1000)
  const header = encode({ alg: 'HS256', typ: 'JWT' })
  const payload = encode({ role: 'agent', ...claims, iat: now, exp: now + ttlSeconds })
  const signature = createHmac('sha256', secret).update(`${header}.${payload}`).digest('base64url')
  return `${header}.${payload}.${signature}`
}

function encode (value: object): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url')
}
