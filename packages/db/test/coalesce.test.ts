import t from 'tap'
import { Coalescer } from '../src/index.ts'

t.test('requests made together go out as one group; the same key shares one item and result', async (t) => {
  const groups: string[][] = []
  const c = new Coalescer<string, string>((s) => s.toLowerCase(), async (items) => {
    groups.push(items)
    return new Map(items.map((s) => [s.toLowerCase(), s.toUpperCase()]))
  })
  const out = await Promise.all(['a', 'b', 'A', 'c'].map(async (s) => await c.load(s)))
  t.strictSame(out, ['A', 'B', 'A', 'C'])
  t.strictSame(groups, [['a', 'b', 'c']], 'one group, the first item of a key kept')
})

t.test('requests made while a group is in flight wait for it and go out together next', async (t) => {
  const groups: number[][] = []
  let release: () => void = () => {}
  const c = new Coalescer<number, number>(String, async (items) => {
    groups.push(items)
    if (groups.length === 1) await new Promise<void>((resolve) => { release = resolve })
    return new Map(items.map((n) => [String(n), n * 2]))
  })
  const first = c.load(1)
  await new Promise((resolve) => setImmediate(resolve))
  const later = [c.load(2), c.load(3)]
  await new Promise((resolve) => setImmediate(resolve))
  t.strictSame(groups, [[1]], 'nothing else runs while the first group is in flight')
  release()
  t.strictSame(await Promise.all([first, ...later]), [2, 4, 6])
  t.strictSame(groups, [[1], [2, 3]])
})

t.test('groups are cut at maxBatch', async (t) => {
  const sizes: number[] = []
  const c = new Coalescer<number, number>(String, async (items) => {
    sizes.push(items.length)
    return new Map(items.map((n) => [String(n), n]))
  }, { maxBatch: 4 })
  const out = await Promise.all(Array.from({ length: 10 }, async (_, i) => await c.load(i)))
  t.strictSame(out, Array.from({ length: 10 }, (_, i) => i))
  t.strictSame(sizes, [4, 4, 2])
})

t.test('a failing group rejects its requests only; a missing result rejects that request', async (t) => {
  let fail = true
  const c = new Coalescer<string, string>((s) => s, async (items) => {
    if (fail) { fail = false; throw new Error('database down') }
    return new Map(items.filter((s) => s !== 'gone').map((s) => [s, s]))
  })
  await t.rejects(Promise.all([c.load('x'), c.load('y')]), /database down/)
  t.equal(await c.load('x'), 'x', 'the next group runs')
  await t.rejects(c.load('gone'), /no result for gone/)
})

t.test('with a window: a lone request or a trickle goes at once; in a burst, requests spread over the window go out as one group', async (t) => {
  const groups: number[][] = []
  const c = new Coalescer<number, number>(String, async (items) => {
    groups.push(items)
    return new Map(items.map((n) => [String(n), n]))
  }, { windowMs: 50 })
  const turn = async (): Promise<void> => { await new Promise((resolve) => setImmediate(resolve)) }

  const lone = c.load(1)
  await turn()
  t.strictSame(groups, [[1]], 'nothing was sent lately: the first request waits for nobody')
  t.equal(await lone, 1)

  const burst = [2, 3, 4, 5, 6, 7, 8, 9].map(async (n) => await c.load(n))
  await turn()
  t.strictSame(groups, [[1], [2, 3, 4, 5, 6, 7, 8, 9]], 'requests of one turn go together, at the end of it')
  await Promise.all(burst)
  const tenth = c.load(10)
  await turn()
  const eleventh = c.load(11)
  await turn()
  t.equal(groups.length, 2, 'right after a big group, the next ones wait for company')
  t.strictSame(await Promise.all([tenth, eleventh]), [10, 11])
  t.strictSame(groups.at(-1), [10, 11])

  await new Promise((resolve) => setTimeout(resolve, 120))
  for (const n of [12, 13, 14]) {
    const p = c.load(n)
    await turn()
    t.strictSame(groups.at(-1), [n], `a trickle (one request at a time, 40 ms apart) waits for nobody: ${n}`)
    t.equal(await p, n)
    await new Promise((resolve) => setTimeout(resolve, 40))
  }
})
