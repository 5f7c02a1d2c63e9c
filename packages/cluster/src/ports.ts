import { createServer } from 'node:net'

/**
 * A TCP port free on 127.0.0.1 right now: the OS picks it, we release it and hand it on. Another
 * process could take it in between; on a test machine that is rare enough, and a fixed port per
 * service is what lets a replica or Redis restart on the same address.
 */
export async function freePort (): Promise<number> {
  return await new Promise((resolve, reject) => {
    const server = createServer()
    server.unref()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      const port = typeof address === 'object' && address !== null ? address.port : 0
      server.close(() => { port > 0 ? resolve(port) : reject(new Error('no port from the OS')) })
    })
  })
}
