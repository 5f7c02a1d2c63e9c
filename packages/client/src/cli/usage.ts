export const USAGE = `usage: pan <command> [options]

  pan token --sub ID [--role agent|viewer|admin] [--ttl 1h] [--name NAME]
                                   mint a token locally with the server's key (see below)
  pan rooms [list] [--all]         list rooms (--all: closed ones too)
  pan rooms create ID [--name NAME] [--private] [--config JSON]
  pan rooms close ID               close a room (members are kicked, history stays)
  pan send ROOM TEXT [--data JSON] [--id ID]
                                   post one message; prints its seq
  pan tail ROOM [--since N] [--count N]
                                   print messages as they arrive (--since N: replay after seq N first;
                                   --count N: exit after N messages; otherwise until Ctrl-C)
  pan stream ROOM [--id ID]        standard input becomes one streamed message: some-llm | pan stream ROOM
  pan history ROOM [--after N] [--before N] [--limit N] [--from USER]
                                   one page of history, oldest first (default: the latest 50)
  pan presence ROOM                who is online in the room
  pan ban USER [--room ROOM] [--reason TEXT] [--expires ISO8601]
                                   ban from one room, or network-wide without --room
  pan unban BAN_ID                 lift a ban
  pan bans [--room ROOM] [--user USER] [--active true|false]
                                   list bans (to find a BAN_ID)

options for every command but token:
  --url URL      the server (default: $PAN_URL, else http://127.0.0.1:3000)
  --token TOKEN  the bearer token (default: $PAN_TOKEN)
  --json         JSON lines instead of readable text

pan token signs with the key the server verifies with, from the same environment: JWT_SECRET
(HS256), or JWT_PRIVATE_KEY with JWT_ALGORITHM=RS256|ES256, or else the dev secret the server
generated in $PAN_DATA_DIR/jwt-secret (default ./data).

exit codes: 0 ok, 1 server or network error, 2 usage error.`

/** A mistake in the command line: exit code 2. */
export class UsageError extends Error {
  override name = 'UsageError'
}
