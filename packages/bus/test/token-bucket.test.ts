import t from 'tap'
import { TokenBuckets } from '../src/token-bucket.ts'

t.test('a full bucket allows `rate` takes, then refuses with the wait for one token', async (t) => {
  const buckets = new TokenBuckets()
  for (let i = 0; i < 3; i++) t.strictSame(buckets.take('k', 3, 0), { ok: true, retryAfterMs: 0 })
  t.strictSame(buckets.take('k', 3, 0), { ok: false, retryAfterMs: 334 })
  t.equal(buckets.take('k', 3, 333).ok, false, 'not yet')
  t.equal(buckets.take('k', 3, 334).ok, true, 'one token after 1/rate s')
  t.equal(buckets.take('k', 3, 334).ok, false, 'and only one')
})

t.test('retryAfterMs counts the part of a token already refilled', async (t) => {
  const buckets = new TokenBuckets()
  buckets.take('k', 2, 0)
  buckets.take('k', 2, 0)
  t.strictSame(buckets.take('k', 2, 250), { ok: false, retryAfterMs: 250 })
})

t.test('refill stops at the burst, which equals the rate', async (t) => {
  const buckets = new TokenBuckets()
  for (let i = 0; i < 2; i++) buckets.take('k', 2, 0)
  const later = 3_600_000
  t.equal(buckets.take('k', 2, later).ok, true)
  t.equal(buckets.take('k', 2, later).ok, true)
  t.equal(buckets.take('k', 2, later).ok, false, 'an hour idle still gives only `rate` tokens')
})

t.test('keys are independent', async (t) => {
  const buckets = new TokenBuckets()
  t.equal(buckets.take('a', 1, 0).ok, true)
  t.equal(buckets.take('a', 1, 0).ok, false)
  t.equal(buckets.take('b', 1, 0).ok, true)
})

t.test('a rate below one per second still allows one take per 1/rate s', async (t) => {
  const buckets = new TokenBuckets()
  t.equal(buckets.take('k', 0.5, 0).ok, true, 'the burst is at least one token')
  t.strictSame(buckets.take('k', 0.5, 0), { ok: false, retryAfterMs: 2000 })
  t.equal(buckets.take('k', 0.5, 1999).ok, false)
  t.equal(buckets.take('k', 0.5, 2000).ok, true)
})

t.test('a clock stepping backwards does not drain the bucket', async (t) => {
  const buckets = new TokenBuckets()
  t.equal(buckets.take('k', 2, 10_000).ok, true)
  t.equal(buckets.take('k', 2, 9_000).ok, true, 'the second token is still there')
  t.equal(buckets.take('k', 2, 9_000).ok, false)
  t.equal(buckets.take('k', 2, 10_500).ok, true, 'refill resumes from the latest time seen')
})

t.test('sweep forgets idle buckets only once they are full again', async (t) => {
  const buckets = new TokenBuckets()
  buckets.take('fast', 1, 0)
  buckets.take('slow', 0.01, 0) // one token per 100 s
  buckets.sweep(60_000, 61_000)
  t.equal(buckets.take('fast', 1, 61_000).ok, true)
  t.strictSame(buckets.take('slow', 0.01, 61_000), { ok: false, retryAfterMs: 39_000 }, 'a half-empty slow bucket is kept')
  t.equal(buckets.take('slow', 0.01, 100_000).ok, true)
})
