import { randomBytes } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Config } from './config.ts'

export interface JwtKeys {
  algorithm: 'HS256' | 'RS256' | 'ES256'
  /** What verifies tokens: the HS256 secret or the PEM public key. */
  verifyKey: string
  /** What signs tokens (`pan token`, the printed admin token); absent with a public key only. */
  signKey: string | undefined
  /** True when the secret was generated into the data dir (embedded dev mode). */
  generated: boolean
}

/**
 * Resolves the signing keys. In embedded mode without `JWT_SECRET`, a secret is generated once
 * into `PAN_DATA_DIR/jwt-secret` (mode 0600) so tokens survive restarts.
 */
export function resolveJwtKeys (config: Config): JwtKeys {
  if (config.JWT_ALGORITHM !== 'HS256') {
    return { algorithm: config.JWT_ALGORITHM as 'RS256' | 'ES256', verifyKey: config.JWT_PUBLIC_KEY ?? '', signKey: config.JWT_PRIVATE_KEY, generated: false }
  }
  if (config.JWT_SECRET !== undefined) {
    return { algorithm: 'HS256', verifyKey: config.JWT_SECRET, signKey: config.JWT_SECRET, generated: false }
  }
  mkdirSync(config.PAN_DATA_DIR, { recursive: true })
  const file = join(config.PAN_DATA_DIR, 'jwt-secret')
  if (!existsSync(file)) writeFileSync(file, randomBytes(32).toString('base64url'), { mode: 0o600, flag: 'wx' })
  const secret = readFileSync(file, 'utf8').trim()
  return { algorithm: 'HS256', verifyKey: secret, signKey: secret, generated: true }
}
