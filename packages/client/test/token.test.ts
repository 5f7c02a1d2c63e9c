import t from 'tap'
import { generateKeyPairSync } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createVerifier } from 'fast-jwt'
import { ConfigError, parseTtl, signJwt, signingKeyFromEnv, type JwtAlgorithm } from '../src/cli/jwt.ts'

/** The server's verifier, configured as apps/server/src/plugins/auth.ts configures @fastify/jwt. */
const verifierFor = (algorithm: JwtAlgorithm, key: string): ((token: string) => Record<string, unknown>) =>
  createVerifier({ key, algorithms: [algorithm], requiredClaims: ['exp'] })

t.test('tokens of every configurable algorithm pass the server\'s verifier, with its claims', async (t) => {
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048, publicKeyEncoding: { type: 'spki', format: 'pem' }, privateKeyEncoding: { type: 'pkcs8', format: 'pem' } })
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256', publicKeyEncoding: { type: 'spki', format: 'pem' }, privateKeyEncoding: { type: 'pkcs8', format: 'pem' } })
  const secret = 'a-secret-a-secret-a-secret-a-secret-0123'
  const cases: Array<[JwtAlgorithm, string, string]> = [['HS256', secret, secret], ['RS256', rsa.privateKey, rsa.publicKey], ['ES256', ec.privateKey, ec.publicKey]]
  const now = Date.now()
  for (const [algorithm, signKey, verifyKey] of cases) {
    const token = signJwt({ algorithm, key: signKey, source: 'test' }, { sub: 'agent-1', role: 'viewer', name: 'Agent One' }, 3600, now)
    const claims = verifierFor(algorithm, verifyKey)(token)
    t.strictSame(claims, { sub: 'agent-1', role: 'viewer', name: 'Agent One', iat: Math.floor(now / 1000), exp: Math.floor(now / 1000) + 3600 }, `${algorithm}: claims`)
    const header = JSON.parse(Buffer.from(token.split('.')[0] as string, 'base64url').toString()) as unknown
    t.strictSame(header, { alg: algorithm, typ: 'JWT' }, `${algorithm}: header as fast-jwt writes it`)
    t.throws(() => verifierFor(algorithm === 'HS256' ? 'RS256' : 'HS256', algorithm === 'HS256' ? rsa.publicKey : secret)(token), `${algorithm}: refused under another pinned algorithm`)
  }
  const expired = signJwt({ algorithm: 'HS256', key: secret, source: 'test' }, { sub: 'a', role: 'agent' }, 1, now - 10_000)
  t.throws(() => verifierFor('HS256', secret)(expired), 'an expired token is refused')
})

t.test('the signing key comes from the server\'s environment, with its rules', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'pan-token-'))
  t.teardown(() => { rmSync(dir, { recursive: true, force: true }) })
  const dataDir = join(dir, 'data')
  const dev = signingKeyFromEnv({ PAN_DATA_DIR: dataDir })
  const file = join(dataDir, 'jwt-secret')
  t.equal(dev.algorithm, 'HS256')
  t.equal(dev.key, readFileSync(file, 'utf8').trim(), 'embedded mode: the dev secret is generated into the data dir')
  t.equal(statSync(file).mode & 0o777, 0o600, 'readable by its owner only')
  t.equal(signingKeyFromEnv({ PAN_DATA_DIR: dataDir }).key, dev.key, 'and reused')
  t.equal(signingKeyFromEnv({ PAN_DATA_DIR: dataDir, JWT_SECRET: 'x'.repeat(32) }).key, 'x'.repeat(32), 'JWT_SECRET wins')
  t.throws(() => signingKeyFromEnv({ JWT_SECRET: 'short' }), ConfigError)
  t.throws(() => signingKeyFromEnv({ DATABASE_URL: 'postgres://x/y' }), ConfigError, 'cluster mode has no dev secret')
  t.throws(() => signingKeyFromEnv({ JWT_ALGORITHM: 'ES256' }), ConfigError, 'RS256/ES256 need JWT_PRIVATE_KEY')
  t.throws(() => signingKeyFromEnv({ JWT_ALGORITHM: 'none' }), ConfigError)
  t.equal(signingKeyFromEnv({ JWT_ALGORITHM: 'RS256', JWT_PRIVATE_KEY: 'PEM' }).source, 'JWT_PRIVATE_KEY')
})

t.test('TTLs', async (t) => {
  t.equal(parseTtl('90'), 90)
  t.equal(parseTtl('30m'), 1800)
  t.equal(parseTtl('1h'), 3600)
  t.equal(parseTtl('7d'), 604800)
  t.equal(parseTtl('0'), null)
  t.equal(parseTtl('1w'), null)
})
