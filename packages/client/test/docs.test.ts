import t from 'tap'
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { runTs, packageDir } from './helpers/run.ts'
import { createRoom, startServer } from './helpers/server.ts'

const server = await startServer(t)
await createRoom(server, 'lobby')
const env = { PAN_URL: server.url, PAN_TOKEN: server.token('docs-admin', 'admin', 'Docs') }

t.test('every ts example of this README and of the repository README runs against a real server', async (t) => {
  const tsBlocks = (file: string): string[] => [...readFileSync(file, 'utf8').matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1] as string)
  const own = tsBlocks(join(packageDir, 'README.md'))
  const root = tsBlocks(join(packageDir, '..', '..', 'README.md'))
  t.ok(own.length >= 4, `${own.length} blocks found here`)
  t.ok(root.length >= 1, `${root.length} found in the repository README`)
  const blocks = [...own, ...root]
  // Inside the package, so that `import '@pan/client'` resolves to it (package self-reference).
  const dir = join(packageDir, 'test', '.readme-blocks')
  mkdirSync(dir, { recursive: true })
  t.teardown(() => { rmSync(dir, { recursive: true, force: true }) })
  for (const [i, code] of blocks.entries()) {
    const file = join(dir, `block-${i + 1}.ts`)
    writeFileSync(file, code)
    const ran = await runTs(file, [], { env })
    t.equal(ran.code, 0, `block ${i + 1} exits 0`, { stdout: ran.stdout, stderr: ran.stderr })
    t.equal(ran.stderr, '', `block ${i + 1} writes nothing to stderr`)
  }
})

t.test('the conversation example: two agents, three questions, three answers', async (t) => {
  const ran = await runTs('examples/conversation.ts', [], { env: { ...env, PAN_ROOM: 'docs-conversation' } })
  t.equal(ran.code, 0, 'exits 0', { stderr: ran.stderr })
  t.equal(ran.stderr, '')
  t.match(ran.stdout, /#1 alice: What is PAN\?\n#2 bob: {3}Rooms where/)
  t.equal(ran.stdout.trim().split('\n').length, 6)
  const stored = await server.http('GET', '/v1/rooms/docs-conversation/messages?after=0')
  t.equal(stored.body.items.length, 6, 'six messages stored')
})

t.test('the streaming example: the watcher sees the tokens arrive, then the stored message', async (t) => {
  const ran = await runTs('examples/streaming.ts', [], { env: { ...env, PAN_ROOM: 'docs-streaming' } })
  t.equal(ran.code, 0, 'exits 0', { stderr: ran.stderr })
  t.equal(ran.stderr, '')
  t.match(ran.stdout, /\[watcher\] \S+ is typing: Once upon a time,.* word\. \n\[watcher\] stream complete\n/)
  t.match(ran.stdout, /\[watcher\] message #1: Once upon a time/)
  const stored = await server.http('GET', '/v1/rooms/docs-streaming/messages?after=0')
  t.strictSame(stored.body.items.map((m: { stream?: { status: string } }) => m.stream?.status), ['complete'])
})

t.test('without PAN_TOKEN the examples mint their own from JWT_SECRET', async (t) => {
  const ran = await runTs('examples/conversation.ts', [], { env: { PAN_URL: server.url, JWT_SECRET: server.secret ?? '', PAN_ROOM: 'docs-minted' } })
  t.equal(ran.code, 0, 'exits 0', { stderr: ran.stderr })
  const stored = await server.http('GET', '/v1/rooms/docs-minted/messages?after=0')
  t.strictSame([...new Set(stored.body.items.map((m: { from: { id: string } }) => m.from.id))], ['alice', 'bob'], 'each agent under its own identity')
})
