import { request as httpRequest } from 'node:http'
import { request as httpsRequest } from 'node:https'

export interface HttpRequest {
  method: string
  url: string
  headers?: Record<string, string>
  /** Serialised as JSON. */
  body?: unknown
  /** PEM CA to verify an https server with. */
  ca?: string
  /** Whole request, ms. Default 10000. */
  timeoutMs?: number
}

export interface HttpResponse {
  status: number
  headers: Record<string, string | string[] | undefined>
  /** Parsed JSON when the response is JSON, else the raw text. */
  body: unknown
  text: string
}

/** One HTTP(S) request with a JSON body, bounded in time. No agent keep-alive: nothing to close. */
export async function request (options: HttpRequest): Promise<HttpResponse> {
  const url = new URL(options.url)
  const payload = options.body === undefined ? undefined : JSON.stringify(options.body)
  const headers: Record<string, string> = { ...options.headers }
  if (payload !== undefined) {
    headers['content-type'] = 'application/json'
    headers['content-length'] = String(Buffer.byteLength(payload))
  }
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest
  return await new Promise((resolve, reject) => {
    const req = send(url, {
      method: options.method,
      headers,
      agent: false,
      timeout: options.timeoutMs ?? 10_000,
      ...(options.ca === undefined ? {} : { ca: options.ca })
    }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (chunk: Buffer) => chunks.push(chunk))
      res.on('error', reject)
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8')
        const json = (res.headers['content-type'] ?? '').includes('json')
        let body: unknown = text
        if (json && text !== '') {
          try { body = JSON.parse(text) } catch {}
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body, text })
      })
    })
    req.on('timeout', () => req.destroy(new Error(`${options.method} ${options.url} timed out`)))
    req.on('error', reject)
    req.end(payload)
  })
}
