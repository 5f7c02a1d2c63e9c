import type { FastifyInstance } from 'fastify'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { findUser, updateUser, type UserRow } from '@pan/db'
import { PatchUserBody, User, type Role } from '@pan/protocol'
import { PanError } from '../errors.ts'
import { assertStorable } from '../storable.ts'
import { isAdmin } from '../auth.ts'
import { UserParams, errorResponses, iso } from './common.ts'

/** The wire shape of a user; a user with no name yet shows their id. */
export function toUser (row: UserRow): User {
  return {
    id: row.id,
    name: row.name ?? row.id,
    role: row.role as Role,
    metadata: row.metadata,
    createdAt: row.createdAt.toISOString(),
    lastSeenAt: iso(row.lastSeenAt)
  }
}

/** User profiles with JSONB metadata. */
export async function userRoutes (fastify: FastifyInstance): Promise<void> {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>()
  const db = app.database.db

  app.get('/v1/users/:user', {
    schema: {
      tags: ['users'],
      summary: 'Read a user\'s profile',
      description: 'Any authenticated caller: viewers and admins, and agents (who may read any profile). `role` is the role of the latest token seen for the user.',
      params: UserParams,
      response: { 200: User, ...errorResponses(400, 404) }
    }
  }, async (request) => {
    const row = await findUser(db, request.params.user)
    if (row === undefined) throw new PanError('PAN_ERR_NOT_FOUND', `no user ${request.params.user}`)
    return toUser(row)
  })

  app.patch('/v1/users/:user', {
    schema: {
      tags: ['users'],
      summary: 'Change a user\'s profile (admin, or the user)',
      description: '`name` replaces the display name (a token\'s `name` no longer applies once one is set); `metadata` replaces the metadata object.',
      params: UserParams,
      body: PatchUserBody,
      response: { 200: User, ...errorResponses(400, 403, 404) }
    }
  }, async (request) => {
    const p = request.principal
    const id = request.params.user
    if (!isAdmin(p) && p.id !== id) throw new PanError('PAN_ERR_FORBIDDEN', 'only admins may change another user\'s profile')
    assertStorable({ name: request.body.name, metadata: request.body.metadata })
    const row = await updateUser(db, id, { name: request.body.name, metadata: request.body.metadata })
    if (row === undefined) throw new PanError('PAN_ERR_NOT_FOUND', `no user ${id}`)
    app.core.users.forget(id)
    return toUser(row)
  })
}
