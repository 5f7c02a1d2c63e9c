import type { Ban, CreateBanBody, CreateRoomBody, ErrorCode, Message, PatchRoomBody, PatchUserBody, PresenceMember, Room, RoomMember, Stats, User } from '@pan/protocol'
import { ERROR_CODES } from './codes.ts'
import { fullJitter } from './backoff.ts'
import { NetworkError, RequestError } from './errors.ts'
import { newId } from './ids.ts'
import type { Ack, SendBody } from './types.ts'

/** A cursor-paginated list (docs/protocol.md §4): pass `nextCursor` back alone for the next page. */
export interface Page<T> {
  items: T[]
  nextCursor: string | null
}

export interface PageQuery {
  /** 1..500, default 50. */
  limit?: number
  /** A `nextCursor` from the previous page; it carries the whole query. */
  cursor?: string
}

export interface HistoryQuery extends PageQuery {
  /** Messages after this seq, ascending, cursor going forward. */
  after?: number
  /** Messages before this seq (default: the latest), cursor going backwards. */
  before?: number
  /** Only this sender's. */
  from?: string
}

export interface RestOptions {
  /** The token (or `getToken`, asked before every request). */
  token?: string
  getToken?: () => string | Promise<string>
  /** A `fetch` to use instead of the global one (e.g. one that trusts a private CA in Node). */
  fetch?: typeof fetch
  /** Retries of reads (and idempotent posts) after 429, 503 or a network error. Default 3. */
  retries?: number
}

type Query = Record<string, string | number | boolean | undefined>

/**
 * The REST API (docs/protocol.md §4) with the contract's types: rooms, membership, presence,
 * history, posting, bans, users, stats. Errors reject with a `RequestError` carrying the
 * contract's `code` and the HTTP `status`, or a `NetworkError` when the server was not reached.
 * Reads and message posts (idempotent by id) are retried after 429/503/network errors, honouring
 * `retry-after`.
 */
export class PanRest {
  readonly #base: string
  readonly #token: () => Promise<string>
  readonly #fetch: typeof fetch
  readonly #retries: number

  /** `baseUrl`: `http(s)://host[:port]`, to which `/v1/...` is appended. */
  constructor (baseUrl: string, options: RestOptions) {
    const { token, getToken } = options
    if (token === undefined && getToken === undefined) throw new TypeError('PanRest needs a token or getToken')
    this.#base = baseUrl.replace(/\/+$/, '')
    this.#token = async () => token ?? await (getToken as () => string | Promise<string>)()
    this.#fetch = options.fetch ?? globalThis.fetch.bind(globalThis)
    this.#retries = options.retries ?? 3
  }

  async listRooms (query: PageQuery & { includeClosed?: boolean } = {}): Promise<Page<Room>> {
    return await this.#get('/v1/rooms', query)
  }

  async getRoom (room: string): Promise<Room> { return await this.#get(`/v1/rooms/${enc(room)}`) }
  async createRoom (body: CreateRoomBody): Promise<Room> { return await this.#call('POST', '/v1/rooms', body) }
  async updateRoom (room: string, patch: PatchRoomBody): Promise<Room> { return await this.#call('PATCH', `/v1/rooms/${enc(room)}`, patch) }
  /** Closes the room: members are kicked, history stays readable, the id is never reused. */
  async closeRoom (room: string): Promise<void> { await this.#call('DELETE', `/v1/rooms/${enc(room)}`) }

  async listMembers (room: string, query: PageQuery = {}): Promise<Page<RoomMember>> { return await this.#get(`/v1/rooms/${enc(room)}/members`, query) }
  async addMember (room: string, user: string): Promise<void> { await this.#call('PUT', `/v1/rooms/${enc(room)}/members/${enc(user)}`) }
  async removeMember (room: string, user: string): Promise<void> { await this.#call('DELETE', `/v1/rooms/${enc(room)}/members/${enc(user)}`) }

  async presence (room: string, query: PageQuery = {}): Promise<Page<PresenceMember>> { return await this.#get(`/v1/rooms/${enc(room)}/presence`, query) }

  /** One page of history, always in ascending seq (see `HistoryQuery` for the direction of the cursor). */
  async history (room: string, query: HistoryQuery = {}): Promise<Page<Message>> {
    return await this.#get(`/v1/rooms/${enc(room)}/messages`, { ...query })
  }

  /** Every stored message with `after < seq < before` (or after `after`, to the end), all pages. */
  async historyRange (room: string, after: number, before?: number): Promise<Message[]> {
    const out: Message[] = []
    let page = await this.history(room, { after, before, limit: 500 })
    out.push(...page.items)
    while (page.nextCursor !== null) {
      page = await this.history(room, { cursor: page.nextCursor })
      out.push(...page.items)
    }
    return out
  }

  /** Posts a message over HTTP with the same guarantees as a WebSocket send (idempotent by `id`). */
  async postMessage (room: string, body: SendBody): Promise<Ack> {
    const payload = { ...body, id: body.id ?? newId() }
    return await this.#call('POST', `/v1/rooms/${enc(room)}/messages`, payload, true)
  }

  /** Bans `user` from `room`, or network-wide without one. */
  async ban (body: CreateBanBody): Promise<Ban> { return await this.#call('POST', '/v1/bans', body) }
  async listBans (query: PageQuery & { room?: string, user?: string, active?: boolean } = {}): Promise<Page<Ban>> { return await this.#get('/v1/bans', query) }
  /** Lifts a ban (the row stays, with `liftedAt`). */
  async unban (banId: string): Promise<void> { await this.#call('DELETE', `/v1/bans/${enc(banId)}`) }

  async getUser (user: string): Promise<User> { return await this.#get(`/v1/users/${enc(user)}`) }
  async updateUser (user: string, patch: PatchUserBody): Promise<User> { return await this.#call('PATCH', `/v1/users/${enc(user)}`, patch) }

  async stats (): Promise<Stats> { return await this.#get('/v1/stats') }

  async #get<T> (path: string, query: object = {}): Promise<T> {
    const params = new URLSearchParams()
    for (const [k, v] of Object.entries(query as Query)) if (v !== undefined) params.set(k, String(v))
    const qs = params.toString()
    return await this.#call('GET', qs === '' ? path : `${path}?${qs}`, undefined, true)
  }

  async #call<T> (method: string, path: string, body?: unknown, retry = false): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.#once<T>(method, path, body)
      } catch (err) {
        const again = retry && attempt < this.#retries && isTransient(err)
        if (!again) throw err
        const wait = err instanceof RequestError && err.retryAfterMs !== undefined ? err.retryAfterMs : 100 + fullJitter(attempt, { baseMs: 250, maxMs: 5000 })
        await new Promise((resolve) => setTimeout(resolve, wait))
      }
    }
  }

  async #once<T> (method: string, path: string, body: unknown): Promise<T> {
    const headers: Record<string, string> = { authorization: `Bearer ${await this.#token()}` }
    if (body !== undefined) headers['content-type'] = 'application/json'
    let res: Response
    try {
      res = await this.#fetch(this.#base + path, { method, headers, ...(body === undefined ? {} : { body: JSON.stringify(body) }) })
    } catch (err) {
      throw new NetworkError(`${method} ${path}: ${describe(err)}`)
    }
    const text = await res.text()
    if (res.ok) return (text === '' ? undefined : JSON.parse(text)) as T
    throw errorOf(res, text, `${method} ${path}`)
  }
}

function errorOf (res: Response, text: string, what: string): RequestError {
  let code: ErrorCode = res.status === 429 ? 'rate_limited' : res.status >= 500 ? 'unavailable' : 'bad_request'
  let message = `${what}: HTTP ${res.status}`
  try {
    const body = JSON.parse(text) as { code?: unknown, message?: unknown }
    if (typeof body.code === 'string' && (ERROR_CODES as readonly string[]).includes(body.code)) code = body.code as ErrorCode
    if (typeof body.message === 'string') message = body.message
  } catch {}
  const retryAfter = Number(res.headers.get('retry-after'))
  return new RequestError(code, message, { status: res.status, retryAfterMs: Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter * 1000 : undefined })
}

function isTransient (err: unknown): boolean {
  if (err instanceof NetworkError) return true
  return err instanceof RequestError && (err.code === 'rate_limited' || err.code === 'unavailable')
}

function describe (err: unknown): string {
  if (!(err instanceof Error)) return String(err)
  const cause = (err as { cause?: unknown }).cause
  return cause instanceof Error ? `${err.message} (${cause.message})` : err.message
}

const enc = encodeURIComponent
