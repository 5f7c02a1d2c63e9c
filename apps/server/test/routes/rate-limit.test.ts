import t from 'tap'
import { startServer } from '../helpers.ts'

t.test('REST is rate-limited per user with 429 rate_limited, retry-after and x-ratelimit headers', async (t) => {
  const server = await startServer(t, 'pglite', { PAN_REST_PER_MIN: '5' })
  const statuses: number[] = []
  let limited: Awaited<ReturnType<typeof server.http>> | undefined
  for (let i = 0; i < 7; i++) {
    const res = await server.http('GET', '/v1/rooms', { as: 'busy', role: 'viewer' })
    statuses.push(res.status)
    if (res.status === 429) limited = res
  }
  t.strictSame(statuses, [200, 200, 200, 200, 200, 429, 429])
  t.match(limited?.body, { statusCode: 429, code: 'rate_limited', error: 'Too Many Requests' })
  t.ok(Number(limited?.headers.get('retry-after')) > 0, 'retry-after is set')
  t.equal(limited?.headers.get('x-ratelimit-limit'), '5')
  const other = await server.http('GET', '/v1/rooms', { as: 'calm', role: 'viewer' })
  t.equal(other.status, 200, 'another user has its own budget')
  const health = await server.http('GET', '/healthz', { as: 'busy', role: 'viewer' })
  t.equal(health.status, 200, 'health checks are not limited')
})

t.test('before authentication, requests are limited per IP', async (t) => {
  const server = await startServer(t, 'pglite', { PAN_REST_PER_MIN: '2' })
  const statuses: number[] = []
  for (let i = 0; i < 6; i++) statuses.push((await server.http('GET', '/v1/rooms', { as: null })).status)
  t.strictSame(statuses, [401, 401, 401, 401, 429, 429], 'twice the per-user budget, then 429')
})

t.test('behind a trusted proxy, the per-IP limit counts the forwarded client address', async (t) => {
  const server = await startServer(t, 'pglite', { PAN_REST_PER_MIN: '1', PAN_TRUST_PROXY: '127.0.0.1' })
  const from = async (ip: string): Promise<number> =>
    (await fetch(`${server.url}/v1/rooms`, { headers: { 'x-forwarded-for': ip } })).status
  t.strictSame([await from('10.0.0.1'), await from('10.0.0.1'), await from('10.0.0.1')], [401, 401, 429], 'one client runs out')
  t.equal(await from('10.0.0.2'), 401, 'another client behind the same proxy has its own budget')
})

t.test('without a trusted proxy, X-Forwarded-For is ignored', async (t) => {
  const server = await startServer(t, 'pglite', { PAN_REST_PER_MIN: '1' })
  const from = async (ip: string): Promise<number> =>
    (await fetch(`${server.url}/v1/rooms`, { headers: { 'x-forwarded-for': ip } })).status
  t.strictSame([await from('10.0.0.1'), await from('10.0.0.2'), await from('10.0.0.3')], [401, 401, 429], 'a forged header buys nothing')
})
