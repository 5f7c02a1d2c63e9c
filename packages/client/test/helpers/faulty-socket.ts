import WebSocket from 'ws'
import type { SocketFactory, SocketLike } from '../../src/index.ts'

/** A server frame as the test sees it. */
export type WireFrame = { type: string, [key: string]: any }

export interface FaultySockets {
  /** Pass as the client's `createSocket`. */
  factory: SocketFactory
  /** Every socket opened, oldest first. */
  readonly opened: WebSocket[]
  /** Cuts the newest socket without a close handshake, as a network drop would. */
  dropLatest: () => void
}

/**
 * A `ws` transport that lets a test lose chosen server frames on the way in (`drop` returns true),
 * as a faulty path or a bug would: what the SDK must survive without the application noticing.
 */
export function faultySockets (drop: (frame: WireFrame) => boolean = () => false, options: { ca?: string } = {}): FaultySockets {
  const opened: WebSocket[] = []
  const factory: SocketFactory = (url, token) => {
    const ws = new WebSocket(url, { headers: { authorization: `Bearer ${token}` }, ...(options.ca === undefined ? {} : { ca: options.ca }) })
    opened.push(ws)
    const proxy: SocketLike = {
      get readyState () { return ws.readyState },
      send: (data) => { ws.send(data) },
      close: (code, reason) => { ws.close(code, reason) },
      terminate: () => { ws.terminate() },
      onopen: null,
      onmessage: null,
      onclose: null,
      onerror: null
    }
    ws.onopen = (event) => proxy.onopen?.(event)
    ws.onerror = (event) => proxy.onerror?.(event)
    ws.onclose = (event) => proxy.onclose?.({ code: event.code, reason: event.reason })
    ws.onmessage = (event) => {
      const text = String(event.data)
      if (drop(JSON.parse(text) as WireFrame)) return
      proxy.onmessage?.({ data: text })
    }
    return proxy
  }
  return {
    factory,
    opened,
    dropLatest: () => { opened[opened.length - 1]?.terminate() }
  }
}
