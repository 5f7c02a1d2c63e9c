import { Writable } from 'node:stream'
import t from 'tap'
import WebSocket from 'ws'
import { createSigner } from 'fast-jwt'
import { loggerOptions } from '../src/logger.ts'
import { signToken } from '../src/tokens.ts'
import { startServer, TEST_SECRET, testKeys } from './helpers.ts'

const JWT_RE = /eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\./

/** Opens a socket and resolves with its first frame (or undefined) once it is answered or closed. */
async function touch (url: string, headers: Record<string, string> = {}, frames: unknown[] = []): Promise<{ first: any, code: number | undefined }> {
  const ws = new WebSocket(url, { headers })
  ws.on('error', () => {})
  return await new Promise((resolve) => {
    let first: any
    ws.on('message', (data) => {
      first ??= JSON.parse(data.toString())
      for (const f of frames) ws.send(typeof f === 'string' ? f : JSON.stringify(f))
      frames = []
      setTimeout(() => { ws.close() }, 150)
    })
    ws.on('close', (code) => { resolve({ first, code }) })
  })
}

t.test('no token reaches the logs, whatever the route and outcome', async (t) => {
  const chunks: string[] = []
  const stream = new Writable({ write (chunk, _enc, cb) { chunks.push(String(chunk)); cb() } })
  const { app, url, wsUrl } = await startServer(t, 'pglite', { LOG_LEVEL: 'trace' }, {
    replicaId: 'log',
    logger: { ...loggerOptions('trace'), stream }
  })
  const token = (sub: string, role: 'agent' | 'viewer' | 'admin' = 'agent'): string => signToken(testKeys, { sub, role }, 3600)
  const expired = createSigner({ key: TEST_SECRET, algorithm: 'HS256' })({ sub: 'late', exp: Math.floor(Date.now() / 1000) - 60 })
  const wrongAlg = createSigner({ key: TEST_SECRET, algorithm: 'HS512', expiresIn: 60_000 })({ sub: 'odd' })

  // WebSocket: accepted by ?token= and by header, refused ones, and frames that fail.
  const ok = await touch(`${wsUrl}?token=${token('alice')}`, {}, [
    { type: 'join', room: 'nowhere', ref: 'a' },
    'not json',
    { type: 'send', room: 'nowhere', id: 'x', text: 'hi' }
  ])
  t.match(ok.first, { type: 'hello' }, 'a ?token= socket is accepted')
  t.match((await touch(wsUrl, { authorization: `Bearer ${token('bob')}` })).first, { type: 'hello' })
  t.equal((await touch(`${wsUrl}?token=${expired}`)).code, 4001)
  t.equal((await touch(`${wsUrl}?token=${wrongAlg}&other=1`)).code, 4001)
  t.equal((await touch(`${wsUrl}?x=1&token=${token('bad', 'admin')}x`)).code, 4001)
  t.equal((await touch(wsUrl, { authorization: `Bearer ${expired}` })).code, 4001)

  // REST: accepted, refused, with the token in the query string, on public and unknown routes.
  const calls: Array<[string, string, Record<string, string>, string?]> = [
    ['GET', '/v1/rooms', { authorization: `Bearer ${token('admin', 'admin')}` }],
    ['GET', '/v1/rooms', { authorization: `Bearer ${expired}` }],
    ['GET', '/v1/rooms', { authorization: `Bearer ${wrongAlg}` }],
    ['GET', `/v1/rooms?token=${token('admin', 'admin')}`, {}],
    ['POST', '/v1/rooms', { authorization: `Bearer ${token('admin', 'admin')}`, 'content-type': 'application/json' }, '{"name": '],
    ['POST', '/v1/rooms', { authorization: `Bearer ${token('agent')}`, 'content-type': 'application/json' }, JSON.stringify({ name: 'x', visibility: 'public' })],
    ['GET', `/healthz?token=${token('h')}`, {}],
    ['GET', `/v1/nothing-here?token=${token('n')}`, { authorization: `Bearer ${token('n')}` }],
    ['GET', `/nothing-here?access_token=${token('n')}&token=${token('m')}`, {}],
    ['GET', '/v1/rooms', { authorization: `Bearer ${token('admin', 'admin')}`, cookie: `session=${token('c')}` }]
  ]
  const statuses: number[] = []
  for (const [method, path, headers, body] of calls) {
    const res = await fetch(url + path, { method, headers, ...(body === undefined ? {} : { body }) })
    await res.text()
    statuses.push(res.status)
  }
  t.equal(statuses[1], 401, 'the expired token failed')
  t.equal(statuses[3], 401, 'a query-string token is not a REST credential')
  t.ok(statuses.some((s) => s >= 400), 'failures were exercised')

  // Code that quotes a credential in a message or a field (a bug, or a library's error text).
  app.log.warn({ detail: `header was Bearer-less ${token('quoted')}` }, `could not use ${token('quoted')}`)
  app.log.error(new Error(`bad token ${token('in-error')}`))

  await new Promise((resolve) => setTimeout(resolve, 200))
  const log = chunks.join('')
  t.ok(log.includes('[redacted-jwt]'), 'a JWT quoted in a message or field is replaced')
  const opened = log.split('\n').find((line) => line.includes('connection opened') && line.includes(`"connectionId":"${String(ok.first.connectionId)}"`))
  t.ok(opened, 'socket lines carry the connection id that hello gave the client')
  t.ok(/"reqId":"[^"]+"/.test(log), 'request lines carry a request id')
  t.ok(log.length > 0 && log.includes('/v1/ws'), 'requests were logged (at trace level)')
  const jwt = JWT_RE.exec(log)
  t.equal(jwt, null, `no JWT in the logs${jwt === null ? '' : `: …${log.slice(Math.max(0, jwt.index - 200), jwt.index + 40)}…`}`)
  const query = log.indexOf('token=')
  t.equal(query, -1, `no token= in the logs${query < 0 ? '' : `: …${log.slice(Math.max(0, query - 200), query + 40)}…`}`)
  t.notOk(/Bearer /i.test(log), 'no Authorization header value in the logs')
})
