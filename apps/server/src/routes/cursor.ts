import { Compile } from 'typebox/compile'
import type { Static, TSchema } from 'typebox'
import { PanError } from '../errors.ts'

/**
 * Opaque list cursors. A cursor is the base64url of a JSON object carrying the whole query of the
 * list it came from (filters, limit, and where the next page starts) plus the list's `kind`, so
 * clients send it alone and a cursor of one list is refused by another. Nothing in it is trusted:
 * it is decoded and checked against the list's schema, and anything off is a 400 `bad_request`.
 * Who may see what is never taken from a cursor: routes recompute it from the caller.
 */
export interface CursorCodec<T extends TSchema> {
  encode: (state: Static<T>) => string
  /** Decodes a cursor of this list; throws `bad_request` for anything else. */
  decode: (raw: string) => Static<T>
}

export function cursorCodec<T extends TSchema> (kind: string, schema: T): CursorCodec<T> {
  const checker = Compile(schema)
  return {
    encode: (state) => Buffer.from(JSON.stringify({ k: kind, s: state })).toString('base64url'),
    decode: (raw) => {
      let parsed: unknown
      try {
        parsed = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8'))
      } catch {
        throw badCursor()
      }
      if (typeof parsed !== 'object' || parsed === null) throw badCursor()
      const { k, s } = parsed as { k?: unknown, s?: unknown }
      if (k !== kind || !checker.Check(s)) throw badCursor()
      return s as Static<T>
    }
  }
}

/** The error for a cursor that is not one of this list's (or not of this room's list). */
export const badCursor = (): PanError => new PanError('PAN_ERR_BAD_REQUEST', 'invalid cursor: send back a nextCursor of this list, alone')

/**
 * Cuts a keyset page fetched with `limit + 1` rows: the page and whether more rows follow it.
 * `fromEnd` keeps the last `limit` rows (a backwards page read in descending order and reversed).
 */
export function cutPage<R> (rows: readonly R[], limit: number, fromEnd = false): { page: R[], more: boolean } {
  if (rows.length <= limit) return { page: [...rows], more: false }
  return fromEnd ? { page: rows.slice(rows.length - limit), more: true } : { page: rows.slice(0, limit), more: true }
}
