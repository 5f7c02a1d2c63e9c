import { readFileSync } from 'node:fs'

export interface WaitOptions {
  /** Give up after this long, ms. */
  timeoutMs: number
  /** Pause between checks, ms. Default 100. */
  intervalMs?: number
  /** Named in the timeout error: "timed out after 30000 ms waiting for <what>". */
  what: string
  /** Extra text for the timeout error (e.g. a log tail), computed only on failure. */
  details?: () => string
}

/**
 * Polls `check` until it returns true. A check that throws counts as "not yet"; its last error is
 * quoted on timeout. A check that should stop the wait early throws a `WaitAbort`.
 */
export async function waitUntil (check: () => Promise<boolean> | boolean, options: WaitOptions): Promise<void> {
  const deadline = Date.now() + options.timeoutMs
  let lastError: unknown
  for (;;) {
    try {
      if (await check()) return
    } catch (err) {
      if (err instanceof WaitAbort) throw err
      lastError = err
    }
    if (Date.now() >= deadline) {
      const cause = lastError instanceof Error ? ` (last error: ${lastError.message})` : ''
      const details = options.details === undefined ? '' : `\n${options.details()}`
      throw new Error(`timed out after ${options.timeoutMs} ms waiting for ${options.what}${cause}${details}`)
    }
    await sleep(options.intervalMs ?? 100)
  }
}

/** Thrown from a `waitUntil` check to fail at once (e.g. the process being waited on exited). */
export class WaitAbort extends Error {
  override name = 'WaitAbort'
}

/** `promise`, or a rejection naming `what` after `ms`. */
export async function withTimeout<T> (promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms)
  })
  try {
    return await Promise.race([promise, timeout])
  } finally {
    clearTimeout(timer)
  }
}

export async function sleep (ms: number): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, ms))
}

/** The last `lines` lines of a log file, labelled, for error messages. */
export function tail (file: string, lines = 40): string {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch {
    return `--- ${file}: (unreadable)`
  }
  const last = text.trimEnd().split('\n').slice(-lines).join('\n')
  return `--- last ${lines} lines of ${file}:\n${last}`
}
