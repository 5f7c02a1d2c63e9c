import { parseArgs, type ParseArgsConfig } from 'node:util'
import { UsageError } from './usage.ts'

type Options = NonNullable<ParseArgsConfig['options']>

/** Options every server command takes. */
export const COMMON = {
  url: { type: 'string' },
  token: { type: 'string' },
  json: { type: 'boolean', default: false }
} as const satisfies Options

/**
 * Parses one command's arguments strictly: an unknown option or a wrong count of positionals is
 * a `UsageError` (exit 2), never a guess.
 */
export function parse<O extends Options> (args: string[], options: O, positionals: { min: number, max: number, names: string }) {
  let parsed
  try {
    parsed = parseArgs({ args, options, allowPositionals: true, strict: true })
  } catch (err) {
    throw new UsageError((err as Error).message)
  }
  const n = parsed.positionals.length
  if (n < positionals.min || n > positionals.max) {
    throw new UsageError(positionals.names === '' ? `unexpected argument ${parsed.positionals[0] ?? ''}` : `expected ${positionals.names}`)
  }
  return parsed
}

/** A non-negative integer option, or a usage error naming it. */
export function integer (value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined
  if (!/^\d+$/.test(value)) throw new UsageError(`--${name} must be a non-negative integer, got ${value}`)
  return Number(value)
}

/** A JSON object option, or a usage error naming it. */
export function jsonObject (value: string | undefined, name: string): Record<string, unknown> | undefined {
  if (value === undefined) return undefined
  let parsed: unknown
  try {
    parsed = JSON.parse(value)
  } catch {
    throw new UsageError(`--${name} must be a JSON object`)
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new UsageError(`--${name} must be a JSON object`)
  return parsed as Record<string, unknown>
}
