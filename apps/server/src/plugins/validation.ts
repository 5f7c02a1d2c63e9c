import { Ajv } from 'ajv'
import addFormats from 'ajv-formats'
import type { FastifySchemaCompiler } from 'fastify'

/**
 * Bodies are validated without type coercion (`{"id": 7}` where a string is due is a 400, as the
 * contract says); unknown fields of closed objects (room config) are dropped; query strings and params arrive as text and are coerced.
 */
const strict = addFormats.default(new Ajv({ coerceTypes: false, useDefaults: true, removeAdditional: true, allErrors: false, strict: false }))
const coercing = addFormats.default(new Ajv({ coerceTypes: 'array', useDefaults: true, removeAdditional: false, allErrors: false, strict: false }))

export const validatorCompiler: FastifySchemaCompiler<unknown> = ({ schema, httpPart }) => {
  const ajv = httpPart === 'body' ? strict : coercing
  return ajv.compile(schema as object)
}
