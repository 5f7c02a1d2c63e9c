import type { CloseCode as ContractCloseCodes, ErrorCode, Role } from '@pan/protocol'

// Values from @pan/protocol, imported as types only: loading the protocol module at run time
// pulls in typebox and compiles every frame schema (about a second per process here, and a
// large share of a browser bundle) for two small tables. `satisfies` ties each entry to the
// contract, so a code that changes there fails to compile here.

/** The close codes the client acts on (docs/protocol.md §2). */
export const CloseCode = {
  normal: 1000,
  serviceRestart: 1012,
  unauthorized: 4001,
  banned: 4003,
  policy: 4008,
  tooManyConnections: 4009
} as const satisfies Pick<typeof ContractCloseCodes, 'normal' | 'serviceRestart' | 'unauthorized' | 'banned' | 'policy' | 'tooManyConnections'>

/** Every error code of the contract. */
export const ERROR_CODES = [
  'bad_request', 'unauthorized', 'forbidden', 'not_found', 'conflict', 'banned', 'rate_limited', 'too_large', 'unavailable', 'internal'
] as const satisfies readonly ErrorCode[]

// Fails to compile when the contract gains an error code this list lacks.
type Missing = Exclude<ErrorCode, (typeof ERROR_CODES)[number]>
export const everyErrorCodeListed: [Missing] extends [never] ? true : Missing = true

/** The roles a token may carry. */
export const ROLES = ['agent', 'viewer', 'admin'] as const satisfies readonly Role[]
type MissingRole = Exclude<Role, (typeof ROLES)[number]>
export const everyRoleListed: [MissingRole] extends [never] ? true : MissingRole = true

/** User ids, the JWT `sub` (docs/protocol.md §1; `USER_ID_RE` of @pan/protocol). */
export const USER_ID_RE = /^[A-Za-z0-9._:-]{1,64}$/
