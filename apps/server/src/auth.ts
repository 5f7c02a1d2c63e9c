import { Roles, USER_ID_RE, type Role } from '@pan/protocol'

/** The caller, as established from a verified JWT. */
export interface Principal {
  id: string
  name: string | null
  role: Role
}

/**
 * Turns verified claims into a principal, or null when they break the contract: a `sub` outside
 * the id rule, an unknown `role`, a missing or non-numeric `exp` (fast-jwt checks expiry itself).
 */
export function principalFromClaims (claims: unknown): Principal | null {
  if (typeof claims !== 'object' || claims === null) return null
  const c = claims as Record<string, unknown>
  if (typeof c.sub !== 'string' || !USER_ID_RE.test(c.sub)) return null
  if (typeof c.exp !== 'number' || !Number.isFinite(c.exp)) return null
  const role = c.role === undefined ? 'agent' : c.role
  if (typeof role !== 'string' || !(Roles as readonly string[]).includes(role)) return null
  const name = typeof c.name === 'string' && c.name.length > 0 ? c.name.slice(0, 200) : null
  return { id: c.sub, name, role: role as Role }
}

/** Roles nest for reading: admin ⊇ viewer ⊇ agent. */
export const canView = (p: Principal): boolean => p.role === 'viewer' || p.role === 'admin'
export const isAdmin = (p: Principal): boolean => p.role === 'admin'
