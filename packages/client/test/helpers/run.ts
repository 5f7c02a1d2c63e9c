import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'

export const packageDir = fileURLToPath(new URL('../../', import.meta.url))
const tsxLoader = import.meta.resolve('tsx')

export interface Ran {
  code: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
}

/**
 * Runs a TypeScript file of this package as its own Node process (with tsx as a loader), in a
 * clean environment plus `env`; `input` is written to its standard input. Bounded by `timeoutMs`.
 */
export async function runTs (file: string, args: string[], options: { env?: Record<string, string>, input?: string, timeoutMs?: number } = {}): Promise<Ran> {
  const child = spawn(process.execPath, ['--import', tsxLoader, file, ...args], {
    cwd: packageDir,
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...options.env },
    stdio: ['pipe', 'pipe', 'pipe']
  })
  let stdout = ''
  let stderr = ''
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => { stdout += chunk })
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => { stderr += chunk })
  child.stdin.end(options.input ?? '')
  const timeoutMs = options.timeoutMs ?? 30_000
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) => child.once('exit', (c, s) => resolve([c, s])))
  clearTimeout(timer)
  if (signal === 'SIGKILL') stderr += `\n(killed after ${timeoutMs} ms)`
  return { code, signal, stdout, stderr }
}
