import { RequestError, type PanClient } from '@pan/client'
import { signJwt, signingKeyFromEnv } from '../src/cli/jwt.ts'

/** The server, from PAN_URL (default: a local `pnpm start`). */
export const url = process.env.PAN_URL ?? 'http://127.0.0.1:3000'

/**
 * A token for one of the example's agents: PAN_TOKEN when set (every agent then shares that
 * identity), otherwise one minted for `agent` with the key the server verifies with (JWT_SECRET,
 * or the dev secret of a local `pnpm start` in ./data), as `pan token` does.
 */
export function tokenFor (agent: string, name: string): string {
  const given = process.env.PAN_TOKEN
  if (given !== undefined && given !== '') return given
  return signJwt(signingKeyFromEnv(process.env), { sub: agent, role: 'admin', name }, 3600)
}

/** Creates the example's room, unless it exists (creating needs an admin token). */
export async function ensureRoom (client: PanClient, room: string): Promise<void> {
  try {
    await client.rest.createRoom({ id: room, name: room, visibility: 'public' })
  } catch (err) {
    if (!(err instanceof RequestError) || (err.code !== 'conflict' && err.code !== 'forbidden')) throw err
    await client.rest.getRoom(room) // forbidden to create: fine if it exists
  }
}
