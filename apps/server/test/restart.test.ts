import t from 'tap'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import WebSocket from 'ws'

/** Starts the real server process (as `pnpm start` does) on a data dir and resolves with its URL. */
async function startProcess (dataDir: string, port: number, env: Record<string, string> = {}): Promise<{ url: string, stop: () => Promise<void>, token: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/server.ts'], {
    cwd: join(import.meta.dirname, '..'),
    env: { ...process.env, DATABASE_URL: '', REDIS_URL: '', PAN_DATA_DIR: dataDir, PORT: String(port), LOG_LEVEL: 'warn', PAN_DRAIN_MS: '0', ...env },
    stdio: ['ignore', 'pipe', 'inherit']
  })
  let out = ''
  child.stdout.setEncoding('utf8')
  const token = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => { reject(new Error(`server did not start: ${out}`)) }, 60_000)
    child.stdout.on('data', (chunk: string) => {
      out += chunk
      const m = /Admin token[^\n]*\n\s*(\S+)/.exec(out)
      if (m?.[1] !== undefined) { clearTimeout(timer); resolve(m[1]) }
    })
    child.on('exit', (code) => { clearTimeout(timer); reject(new Error(`server exited ${code}: ${out}`)) })
  })
  return {
    url: `http://127.0.0.1:${port}`,
    token,
    stop: async () => {
      child.kill('SIGTERM')
      await once(child, 'exit')
    }
  }
}

async function sendOver (url: string, token: string, room: string, ids: string[]): Promise<number[]> {
  const ws = new WebSocket(`${url.replace('http', 'ws')}/v1/ws?token=${token}`)
  const frames: any[] = []
  ws.on('message', (d) => frames.push(JSON.parse(d.toString())))
  await once(ws, 'open')
  ws.send(JSON.stringify({ type: 'join', room, ref: 'j' }))
  for (const id of ids) ws.send(JSON.stringify({ type: 'send', room, id, text: id }))
  const deadline = Date.now() + 10_000
  while (frames.filter((f) => f.type === 'ack').length < ids.length && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20))
  ws.close()
  return frames.filter((f) => f.type === 'ack').map((f) => f.seq)
}

t.test('history survives a restart on the same data dir and seq continues', async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'pan-restart-'))
  t.teardown(() => { rmSync(dataDir, { recursive: true, force: true }) })
  const port = 20000 + Math.floor(Math.random() * 20000)

  const first = await startProcess(dataDir, port)
  const auth = { authorization: `Bearer ${first.token}`, 'content-type': 'application/json' }
  const created = await fetch(`${first.url}/v1/rooms`, { method: 'POST', headers: auth, body: JSON.stringify({ id: 'keep', name: 'Keep', visibility: 'public' }) })
  t.equal(created.status, 201)
  t.strictSame(await sendOver(first.url, first.token, 'keep', ['a', 'b', 'c']), [1, 2, 3])
  await first.stop()

  const second = await startProcess(dataDir, port)
  t.equal(second.token.split('.')[0], first.token.split('.')[0], 'same dev secret family')
  const history = await fetch(`${second.url}/v1/rooms/keep/messages?after=0`, { headers: { authorization: `Bearer ${first.token}` } })
  t.equal(history.status, 200, 'a token minted before the restart still works: the secret was kept')
  const body = await history.json() as { items: Array<{ seq: number, text: string }> }
  t.strictSame(body.items.map((m) => [m.seq, m.text]), [[1, 'a'], [2, 'b'], [3, 'c']])
  t.strictSame(await sendOver(second.url, second.token, 'keep', ['d']), [4])
  await second.stop()
})

t.test('SIGTERM flushes the pending commit batch before the database closes', async (t) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'pan-restart-'))
  t.teardown(() => { rmSync(dataDir, { recursive: true, force: true }) })
  const port = 20000 + Math.floor(Math.random() * 20000)
  // A long batch wait: the send is still waiting for companions when SIGTERM arrives.
  const first = await startProcess(dataDir, port, { PAN_BATCH_WAIT_MS: '800' })
  const auth = { authorization: `Bearer ${first.token}`, 'content-type': 'application/json' }
  t.equal((await fetch(`${first.url}/v1/rooms`, { method: 'POST', headers: auth, body: JSON.stringify({ id: 'flush', name: 'Flush', visibility: 'public' }) })).status, 201)
  const ws = new WebSocket(`${first.url.replace('http', 'ws')}/v1/ws?token=${first.token}`)
  const frames: any[] = []
  ws.on('message', (d) => frames.push(JSON.parse(d.toString())))
  await once(ws, 'open')
  ws.send(JSON.stringify({ type: 'join', room: 'flush', ref: 'j' }))
  while (!frames.some((f) => f.type === 'joined')) await new Promise((resolve) => setTimeout(resolve, 10))
  ws.send(JSON.stringify({ type: 'send', room: 'flush', id: 'pending', text: 'in the batch at SIGTERM' }))
  await new Promise((resolve) => setTimeout(resolve, 100))
  await first.stop()

  const second = await startProcess(dataDir, port)
  const history = await fetch(`${second.url}/v1/rooms/flush/messages`, { headers: { authorization: `Bearer ${second.token}` } })
  const body = await history.json() as { items: Array<{ id: string }> }
  t.strictSame(body.items.map((m) => m.id), ['pending'], 'the pending send was committed, not dropped with the database')
  await second.stop()
})
