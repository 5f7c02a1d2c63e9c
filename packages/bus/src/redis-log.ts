/** Where `RedisBus` reports trouble; pino's and Fastify's loggers fit as they are. */
export interface BusLogger {
  warn: (obj: object, msg: string) => void
  error: (obj: object, msg: string) => void
}

/** The default logger: the console, until the app passes its own. */
export const consoleLogger: BusLogger = {
  warn: (obj, msg) => { console.warn(msg, obj) },
  error: (obj, msg) => { console.error(msg, obj) }
}

/**
 * Logs the first failure of an outage and stays quiet until a success ends it: while Redis is
 * down every call and every reconnect attempt fails, and one line per outage says it all.
 */
export class OutageLog {
  readonly #log: (obj: object, msg: string) => void
  readonly #message: string
  #down = false

  constructor (log: (obj: object, msg: string) => void, message: string) {
    this.#log = log
    this.#message = message
  }

  failed (err: unknown): void {
    if (this.#down) return
    this.#down = true
    this.#log({ err }, this.#message)
  }

  recovered (): void {
    this.#down = false
  }
}
