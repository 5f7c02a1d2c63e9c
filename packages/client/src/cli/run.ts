import { NetworkError, PanError, RequestError } from '../errors.ts'
import { banCommand, bansCommand, unbanCommand } from './commands/bans.ts'
import { historyCommand } from './commands/history.ts'
import { presenceCommand } from './commands/presence.ts'
import { roomsCommand } from './commands/rooms.ts'
import { sendCommand } from './commands/send.ts'
import { streamCommand } from './commands/stream.ts'
import { tailCommand } from './commands/tail.ts'
import { tokenCommand } from './commands/token.ts'
import type { Io } from './context.ts'
import { ConfigError } from './jwt.ts'
import { USAGE, UsageError } from './usage.ts'

const COMMANDS: Record<string, (io: Io, args: string[]) => Promise<number>> = {
  token: tokenCommand,
  rooms: roomsCommand,
  send: sendCommand,
  tail: tailCommand,
  stream: streamCommand,
  history: historyCommand,
  presence: presenceCommand,
  ban: banCommand,
  unban: unbanCommand,
  bans: bansCommand
}

/** Runs one `pan` command line; resolves with the exit code (0 ok, 1 server or network, 2 usage). */
export async function run (argv: string[], io: Io): Promise<number> {
  const [command, ...args] = argv
  if (command === undefined || command === 'help' || argv.includes('--help') || argv.includes('-h')) {
    io.out(USAGE + '\n')
    return 0
  }
  const handler = COMMANDS[command]
  if (handler === undefined) {
    io.err(`pan: unknown command ${command}\n\n${USAGE}\n`)
    return 2
  }
  try {
    return await handler(io, args)
  } catch (err) {
    return report(io, err)
  }
}

/** One line on stderr, `pan: <message>`, and the exit code. Messages never carry the token. */
function report (io: Io, err: unknown): number {
  if (err instanceof UsageError) {
    io.err(`pan: ${err.message} (pan help for usage)\n`)
    return 2
  }
  if (err instanceof ConfigError) {
    io.err(`pan: invalid configuration: ${err.message}\n`)
    return 2
  }
  if (err instanceof RequestError) {
    io.err(`pan: ${err.code}${err.status === undefined ? '' : ` (HTTP ${err.status})`}: ${err.message}\n`)
    return 1
  }
  if (err instanceof NetworkError) {
    io.err(`pan: cannot reach the server: ${err.message}\n`)
    return 1
  }
  if (err instanceof PanError) {
    io.err(`pan: ${err.message}\n`)
    return 1
  }
  io.err(`pan: ${err instanceof Error ? err.message : String(err)}\n`)
  return 1
}
