import { createHmac, generateKeyPairSync } from 'node:crypto'
import t from 'tap'
import WebSocket from 'ws'
import { createSigner } from 'fast-jwt'
import { insertBan } from '@pan/db'
import { startServer, TEST_SECRET, TestSocket } from '../helpers.ts'

type Tap = import('tap').Test

const b64url = (value: unknown): string => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url')
const nowSec = (): number => Math.floor(Date.now() / 1000)

/** A compact JWT with an arbitrary header, signed with HMAC-SHA256 over `key` (or unsigned). */
function handMade (header: Record<string, unknown>, claims: Record<string, unknown>, hmacKey?: string): string {
  const input = `${b64url(header)}.${b64url(claims)}`
  if (hmacKey === undefined) return `${input}.`
  return `${input}.${createHmac('sha256', hmacKey).update(input).digest('base64url')}`
}

const { publicKey, privateKey } = generateKeyPairSync('rsa', {
  modulusLength: 2048,
  publicKeyEncoding: { type: 'spki', format: 'pem' },
  privateKeyEncoding: { type: 'pkcs8', format: 'pem' }
})

const hs256 = createSigner({ key: TEST_SECRET, algorithm: 'HS256', expiresIn: 3600_000 })
const validClaims = (sub: string): Record<string, unknown> => ({ sub, role: 'agent', exp: nowSec() + 3600 })

/** Tokens the HS256 server must refuse, each for its own reason (the contract's list). */
function badTokens (): Record<string, string> {
  const good = hs256({ sub: 'mallory', role: 'agent' })
  const [h, p, s] = good.split('.') as [string, string, string]
  const flipped = s.slice(0, 10) + (s[10] === 'A' ? 'B' : 'A') + s.slice(11)
  return {
    'alg none': handMade({ alg: 'none', typ: 'JWT' }, validClaims('mallory')),
    'alg none, signature kept': `${handMade({ alg: 'none', typ: 'JWT' }, validClaims('mallory'))}${s}`,
    'RS256 (another algorithm, its own key)': createSigner({ key: privateKey, algorithm: 'RS256', expiresIn: 3600_000 })({ sub: 'mallory', role: 'agent' }),
    'HS512 with the right secret': createSigner({ key: TEST_SECRET, algorithm: 'HS512', expiresIn: 3600_000 })({ sub: 'mallory', role: 'agent' }),
    'HS384 with the right secret': createSigner({ key: TEST_SECRET, algorithm: 'HS384', expiresIn: 3600_000 })({ sub: 'mallory', role: 'agent' }),
    'bad signature (tampered)': `${h}.${p}.${flipped}`,
    'bad signature (other secret)': createSigner({ key: 'another-secret-another-secret-0123456', algorithm: 'HS256', expiresIn: 3600_000 })({ sub: 'mallory', role: 'agent' }),
    'claims swapped after signing': `${h}.${b64url({ sub: 'admin', role: 'admin', exp: nowSec() + 3600 })}.${s}`,
    expired: createSigner({ key: TEST_SECRET, algorithm: 'HS256' })({ sub: 'mallory', role: 'agent', exp: nowSec() - 120, iat: nowSec() - 3600 }),
    'missing exp': createSigner({ key: TEST_SECRET, algorithm: 'HS256' })({ sub: 'mallory', role: 'agent' }),
    'exp not a number': handMade({ alg: 'HS256', typ: 'JWT' }, { sub: 'mallory', role: 'agent', exp: String(nowSec() + 3600) }, TEST_SECRET),
    'sub with a space': hs256({ sub: 'mal lory', role: 'agent' }),
    'sub of 65 chars': hs256({ sub: 'a'.repeat(65), role: 'agent' }),
    'empty sub': hs256({ sub: '', role: 'agent' }),
    'sub not a string': hs256({ sub: 42, role: 'agent' }),
    'no sub': hs256({ role: 'agent' }),
    'unknown role': hs256({ sub: 'mallory', role: 'superuser' }),
    'role not a string': hs256({ sub: 'mallory', role: ['admin'] }),
    garbage: 'not-a-jwt',
    'two segments': `${h}.${p}`
  }
}

interface Outcome {
  /** The upgrade succeeded (the contract: refused sockets are accepted, then closed). */
  opened: boolean
  code: number | undefined
  frames: unknown[]
}

/** Opens a socket and waits for the server to close it (or for `waitMs` to pass). */
async function attempt (url: string, headers: Record<string, string> = {}, waitMs = 3000): Promise<Outcome & { ws: WebSocket }> {
  const ws = new WebSocket(url, { headers })
  const out: Outcome = { opened: false, code: undefined, frames: [] }
  ws.on('open', () => { out.opened = true })
  ws.on('message', (data) => { out.frames.push(JSON.parse(data.toString())) })
  ws.on('error', () => {})
  await new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, waitMs)
    ws.on('close', (code) => { out.code = code; clearTimeout(timer); resolve() })
    ws.on('message', () => { if (out.frames.length > 0 && (out.frames[0] as { type?: string }).type === 'hello') { clearTimeout(timer); resolve() } })
  })
  return { ...out, ws }
}

/** Asserts a WebSocket refusal as the contract wants it: accepted, closed with `code`, no hello. */
async function assertRefused (t: Tap, url: string, headers: Record<string, string>, code: number): Promise<void> {
  const out = await attempt(url, headers)
  t.ok(out.opened, 'the upgrade is accepted (so a browser can read the close code)')
  t.equal(out.code, code, `closed with ${code}`)
  t.strictSame(out.frames, [], 'no hello, no frame at all')
  if (out.code === undefined) out.ws.terminate()
}

const encode = encodeURIComponent

t.test('HS256 server', async (t) => {
  const server = await startServer(t, 'pglite', { PAN_CONNECTIONS_PER_USER: '2' })

  t.test('a good token is accepted by ?token= and by the Authorization header', async (t) => {
    const byQuery = await attempt(`${server.wsUrl}?token=${encode(server.token('qagent', 'agent', 'Q'))}`)
    t.match(byQuery.frames[0], { type: 'hello', user: { id: 'qagent', name: 'Q', role: 'agent' } })
    byQuery.ws.close()
    const byHeader = await attempt(server.wsUrl, { authorization: `Bearer ${server.token('hagent', 'viewer')}` })
    t.match(byHeader.frames[0], { type: 'hello', user: { id: 'hagent', role: 'viewer' } })
    byHeader.ws.close()
    const scheme = await attempt(server.wsUrl, { authorization: `bearer ${server.token('lagent')}` })
    t.match(scheme.frames[0], { type: 'hello', user: { id: 'lagent', role: 'agent' } }, 'the scheme is case-insensitive; role defaults to agent')
    scheme.ws.close()
    const res = await fetch(`${server.url}/v1/rooms`, { headers: { authorization: `Bearer ${server.token('qagent')}` } })
    t.not(res.status, 401, 'REST accepts the same token')
  })

  t.test('a token accepted earlier is refused once it expires (verified tokens are cached)', async (t) => {
    const exp = nowSec() + 2
    const token = createSigner({ key: TEST_SECRET, algorithm: 'HS256' })({ sub: 'shortlived', role: 'agent', exp })
    const before = await fetch(`${server.url}/v1/rooms`, { headers: { authorization: `Bearer ${token}` } })
    t.equal(before.status, 200, 'accepted while valid')
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, exp * 1000 - Date.now()) + 50))
    const after = await fetch(`${server.url}/v1/rooms`, { headers: { authorization: `Bearer ${token}` } })
    t.equal(after.status, 401, 'refused after exp, though it was verified before')
    await assertRefused(t, `${server.wsUrl}?token=${token}`, {}, 4001)
  })

  t.test('no token: WS 4001, REST 401', async (t) => {
    await assertRefused(t, server.wsUrl, {}, 4001)
    await assertRefused(t, `${server.wsUrl}?token=`, {}, 4001)
    await assertRefused(t, server.wsUrl, { authorization: 'Bearer' }, 4001)
    await assertRefused(t, server.wsUrl, { authorization: `Basic ${Buffer.from('a:b').toString('base64')}` }, 4001)
    const res = await fetch(`${server.url}/v1/rooms`)
    t.equal(res.status, 401)
    t.match(await res.json(), { statusCode: 401, code: 'unauthorized' })
  })

  for (const [name, token] of Object.entries(badTokens())) {
    t.test(`refused: ${name}`, async (t) => {
      await assertRefused(t, `${server.wsUrl}?token=${encode(token)}`, {}, 4001)
      await assertRefused(t, server.wsUrl, { authorization: `Bearer ${token}` }, 4001)
      const res = await fetch(`${server.url}/v1/rooms`, { headers: { authorization: `Bearer ${token}` } })
      t.equal(res.status, 401, 'REST 401')
      t.match(await res.json(), { statusCode: 401, code: 'unauthorized' })
    })
  }

  t.test('an oversized token is refused, not crashed on', async (t) => {
    const token = hs256({ sub: 'mallory', role: 'agent', pad: 'x'.repeat(9000) })
    await assertRefused(t, `${server.wsUrl}?token=${encode(token)}`, {}, 4001)
  })

  t.test('a network-banned user is closed 4003 with no hello and gets 403 banned on REST', async (t) => {
    await insertBan(server.app.database.db, { userId: 'outcast', roomId: null, reason: 'spam', createdBy: null, expiresAt: null })
    await assertRefused(t, `${server.wsUrl}?token=${encode(server.token('outcast'))}`, {}, 4003)
    await assertRefused(t, server.wsUrl, { authorization: `Bearer ${server.token('outcast', 'admin')}` }, 4003)
    const res = await fetch(`${server.url}/v1/rooms`, { headers: { authorization: `Bearer ${server.token('outcast')}` } })
    t.equal(res.status, 403)
    t.match(await res.json(), { code: 'banned' })
  })

  t.test('an expired or lifted network ban does not refuse', async (t) => {
    await insertBan(server.app.database.db, { userId: 'paroled', roomId: null, reason: null, createdBy: null, expiresAt: new Date(Date.now() - 60_000) })
    const out = await attempt(`${server.wsUrl}?token=${encode(server.token('paroled'))}`)
    t.match(out.frames[0], { type: 'hello' })
    out.ws.close()
  })

  t.test('a room ban is not a network ban', async (t) => {
    await server.room('ban-scope')
    await insertBan(server.app.database.db, { userId: 'roomonly', roomId: 'ban-scope', reason: null, createdBy: null, expiresAt: null })
    const s = await server.connect('roomonly')
    t.match(await s.request({ type: 'join', room: 'ban-scope' }), { type: 'error', code: 'banned' })
    t.match(await s.request({ type: 'ping' }), { type: 'pong' })
    s.close()
  })

  t.test('connections per user: one past the cap is closed 4009 with no hello; freeing one lets a new one in', async (t) => {
    const first = await server.connect('greedy')
    const second = await TestSocket.open(server.wsUrl, { authorization: `Bearer ${server.token('greedy')}` })
    t.match(await second.next(), { type: 'hello' })
    await assertRefused(t, `${server.wsUrl}?token=${encode(server.token('greedy'))}`, {}, 4009)
    await assertRefused(t, server.wsUrl, { authorization: `Bearer ${server.token('greedy')}` }, 4009)
    const other = await server.connect('modest')
    t.match(await other.request({ type: 'ping' }), { type: 'pong' }, 'the cap is per user')
    t.match(await first.request({ type: 'ping' }), { type: 'pong' }, 'refusals do not disturb open connections')

    first.close()
    await first.closed
    // The server learns of the close after the client does; allow it a short, bounded moment.
    let admitted: Outcome & { ws: WebSocket } | undefined
    const deadline = Date.now() + 2000
    while (Date.now() < deadline) {
      const out = await attempt(`${server.wsUrl}?token=${encode(server.token('greedy'))}`)
      if ((out.frames[0] as { type?: string } | undefined)?.type === 'hello') { admitted = out; break }
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
    t.ok(admitted, 'a new connection is accepted after one closed')
    await assertRefused(t, `${server.wsUrl}?token=${encode(server.token('greedy'))}`, {}, 4009)
    admitted?.ws.close()
    second.close()
    other.close()
  })
})

t.test('RS256 server refuses the HS256/RS256 key confusion', async (t) => {
  const { app, url, wsUrl } = await startServer(t, 'pglite', { JWT_ALGORITHM: 'RS256', JWT_PUBLIC_KEY: publicKey }, { replicaId: 'rs' })
  t.equal(app.config.JWT_ALGORITHM, 'RS256')

  const proper = createSigner({ key: privateKey, algorithm: 'RS256', expiresIn: 3600_000 })({ sub: 'rsa-agent', role: 'agent', name: 'R' })
  const ok = await attempt(`${wsUrl}?token=${encode(proper)}`)
  t.match(ok.frames[0], { type: 'hello', user: { id: 'rsa-agent', name: 'R', role: 'agent' } }, 'a proper RS256 token is accepted over WS')
  ok.ws.close()
  const okHeader = await attempt(wsUrl, { authorization: `Bearer ${proper}` })
  t.match(okHeader.frames[0], { type: 'hello' }, 'and with the header')
  okHeader.ws.close()
  const rest = await fetch(`${url}/v1/rooms`, { headers: { authorization: `Bearer ${proper}` } })
  t.not(rest.status, 401, 'and over REST')

  const confused = {
    'HS256 signed with the public key PEM': handMade({ alg: 'HS256', typ: 'JWT' }, validClaims('mallory'), publicKey),
    'HS256 signed with the trimmed PEM': handMade({ alg: 'HS256', typ: 'JWT' }, validClaims('mallory'), publicKey.trim()),
    'HS256 signed with the base64 body of the PEM': handMade({ alg: 'HS256', typ: 'JWT' }, validClaims('mallory'), publicKey.replace(/-----[^-]+-----|\s/g, '')),
    'alg none': handMade({ alg: 'none', typ: 'JWT' }, validClaims('mallory')),
    'RS256 from another key pair': createSigner({
      key: generateKeyPairSync('rsa', { modulusLength: 2048, publicKeyEncoding: { type: 'spki', format: 'pem' }, privateKeyEncoding: { type: 'pkcs8', format: 'pem' } }).privateKey,
      algorithm: 'RS256',
      expiresIn: 3600_000
    })({ sub: 'mallory' }),
    'RS512 with the right key': createSigner({ key: privateKey, algorithm: 'RS512', expiresIn: 3600_000 })({ sub: 'mallory' }),
    'PS256 with the right key': createSigner({ key: privateKey, algorithm: 'PS256', expiresIn: 3600_000 })({ sub: 'mallory' }),
    'RS256 without exp': createSigner({ key: privateKey, algorithm: 'RS256' })({ sub: 'mallory' })
  }
  for (const [name, token] of Object.entries(confused)) {
    t.test(`refused: ${name}`, async (t) => {
      await assertRefused(t, `${wsUrl}?token=${encode(token)}`, {}, 4001)
      await assertRefused(t, wsUrl, { authorization: `Bearer ${token}` }, 4001)
      const res = await fetch(`${url}/v1/rooms`, { headers: { authorization: `Bearer ${token}` } })
      t.equal(res.status, 401)
      t.match(await res.json(), { code: 'unauthorized' })
    })
  }
})
