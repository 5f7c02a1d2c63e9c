import type { Test } from 'tap'
// The server's own schema and validation, so that a deployment's settings are checked by the code
// that will read them (apps/server/src/config.ts is the only reader of the environment).
import { ConfigSchema, loadConfig, type Config } from '../../apps/server/src/config.ts'

/** Every setting the server knows. */
export const knownSettings: ReadonlySet<string> = new Set(Object.keys(ConfigSchema.properties))

/**
 * Asserts that `env` (a container's environment as a deployment file gives it) names only settings
 * the server knows (a misspelt one would be ignored silently) and passes the server's validation.
 * Returns the validated config.
 */
export function checkServerEnv (t: Test, env: Record<string, string>, where: string): Config | undefined {
  const unknown = Object.keys(env).filter((key) => !knownSettings.has(key))
  t.same(unknown, [], `${where}: every variable is a server setting`)
  try {
    const config = loadConfig(env)
    t.pass(`${where}: the server's config validation accepts it`)
    return config
  } catch (err) {
    t.fail(`${where}: the server rejects it: ${(err as Error).message}`)
    return undefined
  }
}
