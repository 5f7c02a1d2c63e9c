/**
 * A fresh client message id (a v4 UUID, 36 characters: within the contract's 64). Uses the Web
 * Crypto API present in browsers and Node 20; `randomUUID` only exists in secure contexts, so
 * `getRandomValues` stands in elsewhere.
 */
export function newId (): string {
  const c = globalThis.crypto
  if (typeof c.randomUUID === 'function') return c.randomUUID()
  const b = c.getRandomValues(new Uint8Array(16))
  b[6] = ((b[6] ?? 0) & 0x0f) | 0x40
  b[8] = ((b[8] ?? 0) & 0x3f) | 0x80
  const hex = [...b].map((x) => x.toString(16).padStart(2, '0')).join('')
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`
}
