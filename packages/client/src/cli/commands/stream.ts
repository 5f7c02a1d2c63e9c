import { COMMON, parse } from '../args.ts'
import { client, target, type Io } from '../context.ts'
import { ackLine } from '../output.ts'

/**
 * `pan stream ROOM`: standard input becomes one streamed message (`some-llm | pan stream ROOM`):
 * each chunk read is a delta, end of input stores the message. Ctrl-C aborts it (nothing stored,
 * exit 130). A connection lost meanwhile is resumed by the SDK.
 */
export async function streamCommand (io: Io, args: string[]): Promise<number> {
  const { values, positionals } = parse(args, { ...COMMON, id: { type: 'string' } }, { min: 1, max: 1, names: 'a ROOM' })
  const t = target(io, values)
  const c = client(t)
  try {
    await c.connect()
    const stream = c.stream(positionals[0] as string, values.id === undefined ? {} : { id: values.id })
    const stdin = io.stdin()
    stdin.setEncoding('utf8') // decodes multi-byte characters split across chunks
    const input = new Promise<'eof'>((resolve, reject) => {
      stdin.on('data', (chunk: string) => { stream.write(chunk) })
      stdin.on('end', () => { resolve('eof') })
      stdin.on('error', reject)
    })
    const outcome = await Promise.race([input, io.interrupted])
    if (outcome !== 'eof') {
      stream.abort()
      io.err('pan: interrupted: the stream was aborted, nothing stored\n')
      return 130
    }
    if (stream.text === '') {
      stream.abort()
      io.err('pan: standard input was empty: nothing stored\n')
      return 1
    }
    const ack = await stream.end()
    io.out((t.json ? JSON.stringify(ack) : `${ackLine('streamed to', ack)}, ${stream.text.length} characters`) + '\n')
    return 0
  } finally {
    await c.close()
  }
}
