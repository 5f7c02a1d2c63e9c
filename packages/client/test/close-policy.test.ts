import t from 'tap'
import { fullJitter } from '../src/backoff.ts'
import { ClosePolicy } from '../src/close-policy.ts'

t.test('full jitter: uniform in [0, min(max, base·2^attempt))', async (t) => {
  t.equal(fullJitter(0, { baseMs: 100 }, () => 0.999), 99)
  t.equal(fullJitter(3, { baseMs: 100 }, () => 0.5), 400)
  t.equal(fullJitter(20, { baseMs: 100, maxMs: 5000 }, () => 0.5), 2500, 'capped at maxMs')
  t.equal(fullJitter(5, {}, () => 0), 0, 'the window always starts at 0')
})

t.test('close codes: stop on 4001 and 4003, prompt after 1012, long pause after 4008', async (t) => {
  const half = (): number => 0.5
  const policy = new ClosePolicy({ baseMs: 100, restartJitterMs: 1000, policyPauseMs: 60_000 }, false, half)
  t.match(policy.decide(4001), { retry: false, error: { code: 'PAN_CLIENT_UNAUTHORIZED' } })
  t.match(policy.decide(4003), { retry: false, error: { code: 'PAN_CLIENT_BANNED' } })
  const fresh = new ClosePolicy({ baseMs: 100, restartJitterMs: 1000, policyPauseMs: 60_000 }, false, half)
  t.strictSame(fresh.decide(1012), { retry: true, delayMs: 500 }, '1012: within the restart jitter')
  t.strictSame(fresh.decide(1006), { retry: true, delayMs: 100 }, 'then backoff: attempt 1')
  t.strictSame(fresh.decide(1006), { retry: true, delayMs: 200 }, 'attempt 2')
  fresh.opened()
  t.strictSame(fresh.decide(1006), { retry: true, delayMs: 50 }, 'a hello resets the backoff')
  t.ok((fresh.decide(4008) as { delayMs: number }).delayMs >= 60_000, '4008: the long pause')
})

t.test('4001 with getToken: one more try with a fresh token', async (t) => {
  const policy = new ClosePolicy({}, true, () => 0)
  t.match(policy.decide(4001), { retry: true })
  t.match(policy.decide(4001), { retry: false, error: { code: 'PAN_CLIENT_UNAUTHORIZED' } })
})

t.test('4009: retried at least 2 s apart, then the client stops', async (t) => {
  const policy = new ClosePolicy({ maxTooManyConnections: 2 }, false, () => 0)
  t.strictSame(policy.decide(4009), { retry: true, delayMs: 2000 })
  t.strictSame(policy.decide(4009), { retry: true, delayMs: 2000 })
  t.match(policy.decide(4009), { retry: false, error: { code: 'PAN_CLIENT_TOO_MANY_CONNECTIONS' } })
})
