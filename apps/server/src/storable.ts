import { PanError } from './errors.ts'

/** U+0000 or an unpaired UTF-16 surrogate: Postgres text/jsonb cannot store them faithfully. */
const UNSTORABLE = /\0|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/

/** True when a string, or every key and string inside a JSON value, can be stored as sent. */
export function storable (value: unknown): boolean {
  if (typeof value === 'string') return !UNSTORABLE.test(value)
  if (Array.isArray(value)) return value.every(storable)
  if (typeof value === 'object' && value !== null) return Object.entries(value).every(([k, v]) => storable(k) && storable(v))
  return true
}

/**
 * Refuses input Postgres would reject (failing the write, and with it a whole commit batch) or
 * silently alter, as a 400 `bad_request` naming the field.
 */
export function assertStorable (fields: Record<string, unknown>): void {
  for (const [name, value] of Object.entries(fields)) {
    if (!storable(value)) throw new PanError('PAN_ERR_BAD_REQUEST', `${name} may not contain U+0000 or unpaired surrogates`)
  }
}
