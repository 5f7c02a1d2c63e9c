/**
 * The baseline: a room-broadcast WebSocket server with `ws` and nothing else (no auth, no
 * validation, no persistence). A connection joins the room named by `?room=` at connect; every
 * text frame it sends is written, as received, to every member of that room, the sender
 * included (as PAN and Socket.IO do). This is what Node can do: PAN's figures are read against it.
 *
 *   PORT=4000 node --import tsx src/targets/raw-ws.ts
 */
import { createServer } from 'node:http'
import { WebSocketServer, type WebSocket } from 'ws'

const port = Number(process.env.PORT ?? 0)
const rooms = new Map<string, Set<WebSocket>>()
const server = createServer((_req, res) => { res.writeHead(404).end() })
const wss = new WebSocketServer({ server, perMessageDeflate: false, maxPayload: 65_536 })

wss.on('connection', (socket, req) => {
  const room = new URL(req.url ?? '/', 'http://x').searchParams.get('room') ?? 'default'
  let members = rooms.get(room)
  if (members === undefined) {
    members = new Set()
    rooms.set(room, members)
  }
  const set = members
  set.add(socket)
  socket.on('message', (data, isBinary) => {
    for (const member of set) member.send(data, { binary: isBinary })
  })
  socket.on('close', () => {
    set.delete(socket)
    if (set.size === 0) rooms.delete(room)
  })
  socket.on('error', () => {})
})

server.listen(port, '127.0.0.1', () => {
  const address = server.address()
  process.stdout.write(`listening ${typeof address === 'object' && address !== null ? address.port : port}\n`)
})
process.on('SIGTERM', () => {
  for (const client of wss.clients) client.terminate()
  wss.close()
  server.close(() => process.exit(0))
})
