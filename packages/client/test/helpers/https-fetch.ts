import { request } from 'node:https'

/**
 * A `fetch` for Node that trusts `ca` (the cluster's self-signed certificate): Node 20's global
 * fetch takes no CA of its own, so REST calls of the SDK under test go through this.
 */
export function fetchTrusting (ca: string): typeof fetch {
  return async (input, init = {}) => {
    const url = new URL(input instanceof Request ? input.url : String(input))
    const headers = new Headers(init.headers)
    const body = typeof init.body === 'string' ? init.body : undefined
    return await new Promise<Response>((resolve, reject) => {
      const req = request(url, { method: init.method ?? 'GET', headers: Object.fromEntries(headers), ca, agent: false, timeout: 10_000 }, (res) => {
        const chunks: Buffer[] = []
        res.on('data', (chunk: Buffer) => chunks.push(chunk))
        res.on('error', reject)
        res.on('end', () => {
          const out = new Headers()
          for (const [k, v] of Object.entries(res.headers)) if (typeof v === 'string') out.set(k, v)
          const status = res.statusCode ?? 500
          resolve(new Response(status === 204 ? null : Buffer.concat(chunks), { status, headers: out }))
        })
      })
      req.on('timeout', () => req.destroy(new Error(`${url.toString()} timed out`)))
      req.on('error', reject)
      req.end(body)
    })
  }
}
