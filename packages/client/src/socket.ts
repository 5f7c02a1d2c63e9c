/**
 * The part of a WebSocket the SDK uses: the browser's `WebSocket`, Node's `ws` and any custom
 * transport all fit it.
 */
export interface SocketLike {
  /** 0 connecting, 1 open, 2 closing, 3 closed (the WHATWG values). */
  readonly readyState: number
  send: (data: string) => void
  close: (code?: number, reason?: string) => void
  /** `ws` only: drop the connection without a close handshake. */
  terminate?: () => void
  onopen: ((event: unknown) => void) | null
  onmessage: ((event: { data: unknown }) => void) | null
  onclose: ((event: { code: number, reason: string }) => void) | null
  onerror: ((event: unknown) => void) | null
}

/**
 * Opens a socket to `url` carrying `token`. Custom transports (a proxy, a test harness) pass their
 * own as the `createSocket` option.
 */
export type SocketFactory = (url: string, token: string) => SocketLike | Promise<SocketLike>

/** Options handed to the `ws` package in Node (its `ClientOptions`), e.g. `{ ca }` for a private CA. */
export interface NodeSocketOptions {
  ca?: string | string[]
  rejectUnauthorized?: boolean
  headers?: Record<string, string>
  [option: string]: unknown
}

type BrowserWebSocket = new (url: string) => SocketLike

/**
 * The default transport. Where a global `WebSocket` exists (browsers, Deno, Node 22+) it is used
 * and the token travels as `?token=`, since browsers cannot set headers on a WebSocket (the
 * server never logs it). Otherwise, or when `nodeOptions` are given, the `ws` package is loaded
 * with a dynamic import, so a browser bundle never needs it, and the token travels in the
 * `Authorization` header.
 */
export async function defaultSocketFactory (nodeOptions: NodeSocketOptions | undefined): Promise<SocketFactory> {
  const Global = (globalThis as { WebSocket?: BrowserWebSocket }).WebSocket
  if (nodeOptions === undefined && Global !== undefined) {
    return (url, token) => {
      const u = new URL(url)
      u.searchParams.set('token', token)
      return new Global(u.toString())
    }
  }
  const { WebSocket: Ws } = await import('ws')
  return (url, token) => new Ws(url, {
    ...nodeOptions,
    headers: { ...nodeOptions?.headers, authorization: `Bearer ${token}` }
  }) as unknown as SocketLike
}

/** UTF-8 length of a string without `Buffer` or `TextEncoder` allocations. */
export function utf8Length (text: string): number {
  let bytes = 0
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (c < 0x80) bytes += 1
    else if (c < 0x800) bytes += 2
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length) {
      const next = text.charCodeAt(i + 1)
      if (next >= 0xdc00 && next <= 0xdfff) {
        bytes += 4
        i++
      } else {
        bytes += 3
      }
    } else bytes += 3
  }
  return bytes
}
