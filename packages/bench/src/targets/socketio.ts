/**
 * What users pick instead of PAN: Socket.IO 4.8 with `@socket.io/redis-adapter` (ioredis), as its
 * docs set it up for several nodes. WebSocket transport only, no compression (like the others).
 * A socket joins the room named by the handshake's `room` query; an `m` event is emitted to the
 * whole room, the sender included, on every node through Redis.
 *
 *   PORT=4001 REDIS_URL=redis://127.0.0.1:6380 node --import tsx src/targets/socketio.ts
 */
import { createServer } from 'node:http'
import { createAdapter } from '@socket.io/redis-adapter'
import { Redis } from 'ioredis'
import { Server } from 'socket.io'

const port = Number(process.env.PORT ?? 0)
const redisUrl = process.env.REDIS_URL
if (redisUrl === undefined) throw new Error('REDIS_URL is required')
const pub = new Redis(redisUrl)
const sub = pub.duplicate()
const server = createServer()
const io = new Server(server, { transports: ['websocket'], serveClient: false, perMessageDeflate: false, adapter: createAdapter(pub, sub, { key: process.env.SIO_PREFIX ?? 'socket.io' }) })

io.on('connection', (socket) => {
  const query = socket.handshake.query.room
  const room = typeof query === 'string' ? query : 'default'
  // join() is synchronous with the in-memory adapter and a promise with others.
  Promise.resolve(socket.join(room)).catch(() => {})
  socket.on('m', (payload: unknown) => { io.to(room).emit('m', payload) })
})

server.listen(port, '127.0.0.1', () => {
  const address = server.address()
  process.stdout.write(`listening ${typeof address === 'object' && address !== null ? address.port : port}\n`)
})
process.on('SIGTERM', () => {
  io.close().catch(() => {})
  pub.disconnect()
  sub.disconnect()
  setTimeout(() => process.exit(0), 200).unref()
})
