/** The two addresses of one PAN server: the WebSocket endpoint and the REST base. */
export interface ServerUrls {
  /** `ws(s)://host[:port][/prefix]/v1/ws` */
  ws: string
  /** `http(s)://host[:port][/prefix]`, to which `/v1/...` paths are appended. */
  http: string
}

/**
 * Accepts what people paste: `http://localhost:3000`, `https://pan.example.com/`,
 * `wss://pan.example.com/v1/ws`. A path other than `/v1/ws` is kept as a prefix (a reverse proxy
 * mounting PAN under `/pan`).
 */
export function serverUrls (input: string): ServerUrls {
  const url = new URL(input)
  const secure = url.protocol === 'https:' || url.protocol === 'wss:'
  if (!['http:', 'https:', 'ws:', 'wss:'].includes(url.protocol)) {
    throw new TypeError(`PAN URL must be http(s):// or ws(s)://, got ${url.protocol}`)
  }
  const prefix = url.pathname.replace(/\/+$/, '').replace(/\/v1\/ws$/, '')
  const host = url.host
  return {
    ws: `${secure ? 'wss' : 'ws'}://${host}${prefix}/v1/ws`,
    http: `${secure ? 'https' : 'http'}://${host}${prefix}`
  }
}
