import { Compile } from 'typebox/compile'
import { ClientFrames, type ClientFrame, type ClientFrameType } from './frames.ts'

const checkers = Object.fromEntries(
  Object.entries(ClientFrames).map(([type, schema]) => [type, Compile(schema)])
) as { [K in ClientFrameType]: ReturnType<typeof Compile<(typeof ClientFrames)[K]>> }

export type ParseResult =
  | { ok: true, frame: ClientFrame }
  | { ok: false, message: string, ref?: string }

/**
 * Parses one text frame from a client. Never throws: a frame that is not JSON, has no known
 * `type` or fails its schema comes back as `{ ok: false }` with a message for the `bad_request`
 * error and the frame's `ref` when it carried a string one.
 */
export function parseClientFrame (raw: string): ParseResult {
  let value: unknown
  try {
    value = JSON.parse(raw)
  } catch {
    return { ok: false, message: 'frame is not valid JSON' }
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { ok: false, message: 'frame must be a JSON object' }
  }
  const obj = value as Record<string, unknown>
  const ref = typeof obj.ref === 'string' ? obj.ref : undefined
  const type = obj.type
  if (typeof type !== 'string' || !Object.hasOwn(checkers, type)) {
    return withRef({ ok: false, message: `unknown frame type ${JSON.stringify(type)}` }, ref)
  }
  const checker = checkers[type as ClientFrameType]
  if (!checker.Check(obj)) {
    const first = checker.Errors(obj)[0]
    const where = first?.instancePath ? `${first.instancePath.slice(1)} ` : ''
    return withRef({ ok: false, message: `invalid ${type} frame: ${where}${first?.message ?? 'does not match schema'}` }, ref)
  }
  return { ok: true, frame: obj as ClientFrame }
}

function withRef (result: { ok: false, message: string }, ref: string | undefined): ParseResult {
  return ref === undefined ? result : { ...result, ref }
}
