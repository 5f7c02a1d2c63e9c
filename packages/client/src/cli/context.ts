import { PanClient } from '../client.ts'
import { PanRest } from '../rest.ts'
import { serverUrls } from '../urls.ts'
import { UsageError } from './usage.ts'

/** What a command needs from the outside world; `process` in `pan.ts`. */
export interface Io {
  env: Record<string, string | undefined>
  out: (text: string) => void
  err: (text: string) => void
  /** Standard input, opened only by the commands that read it. */
  stdin: () => NodeJS.ReadableStream
  /** Resolves when the user asks to stop (SIGINT, SIGTERM). */
  interrupted: Promise<string>
}

/** The server a command talks to, from flags first, then `PAN_URL` / `PAN_TOKEN`. */
export interface Target {
  url: string
  token: string
  json: boolean
}

export function target (io: Io, flags: { url?: string | undefined, token?: string | undefined, json?: boolean | undefined }): Target {
  const url = flags.url ?? nonEmpty(io.env.PAN_URL) ?? 'http://127.0.0.1:3000'
  try {
    serverUrls(url)
  } catch {
    throw new UsageError(`not a server URL: ${url} (want http(s)://host:port)`)
  }
  const token = flags.token ?? nonEmpty(io.env.PAN_TOKEN)
  if (token === undefined) throw new UsageError('no token: set PAN_TOKEN or pass --token (mint one with: pan token --sub ID --role admin)')
  return { url, token, json: flags.json ?? false }
}

export function rest (t: Target): PanRest {
  return new PanRest(serverUrls(t.url).http, { token: t.token })
}

/** A client for commands that hold a WebSocket; the first connection is bounded at 10 s. */
export function client (t: Target): PanClient {
  return new PanClient(t.url, { token: t.token, connectTimeoutMs: 10_000 })
}

const nonEmpty = (v: string | undefined): string | undefined => v === '' ? undefined : v
