import { freePort, start, waitUntil, type Spawned } from '../proc.ts'
import { connect } from 'node:net'

/** A private, non-persistent redis-server on a free port (never the machine's Redis on 6379). */
export interface BenchRedis {
  url: string
  pid: number
  stop: () => Promise<void>
}

export async function startRedis (): Promise<BenchRedis> {
  const port = await freePort()
  const proc: Spawned = start('/usr/bin/redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { env: { PATH: process.env.PATH } })
  await waitUntil(async () => await ping(port), `redis-server on ${port}`, 10_000)
  return { url: `redis://127.0.0.1:${port}`, pid: proc.pid, stop: async () => { await proc.stop(5000) } }
}

async function ping (port: number): Promise<boolean> {
  return await new Promise((resolve) => {
    const socket = connect({ port, host: '127.0.0.1' })
    const done = (ok: boolean): void => { socket.destroy(); resolve(ok) }
    socket.setTimeout(1000, () => done(false))
    socket.on('error', () => done(false))
    socket.on('connect', () => socket.write('PING\r\n'))
    socket.on('data', (chunk) => done(chunk.toString('latin1').startsWith('+PONG')))
  })
}
