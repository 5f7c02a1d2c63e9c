type Listener<T> = (value: T) => void

/**
 * A small typed event emitter that works in browsers and Node alike (no `node:events`). A listener
 * that throws does not break the SDK's bookkeeping: the error is rethrown on its own, outside the
 * emit, where the runtime reports it as an uncaught error.
 */
export class Emitter<Events extends object> {
  readonly #listeners = new Map<keyof Events, Set<Listener<never>>>()

  /** Adds a listener; returns a function that removes it. */
  on<K extends keyof Events> (event: K, listener: Listener<Events[K]>): () => void {
    let set = this.#listeners.get(event)
    if (set === undefined) {
      set = new Set()
      this.#listeners.set(event, set)
    }
    set.add(listener as Listener<never>)
    this.listenerAdded(event)
    return () => { this.off(event, listener) }
  }

  /** Adds a listener removed after its first call. */
  once<K extends keyof Events> (event: K, listener: Listener<Events[K]>): () => void {
    const off = this.on(event, (value) => {
      off()
      listener(value)
    })
    return off
  }

  off<K extends keyof Events> (event: K, listener: Listener<Events[K]>): void {
    this.#listeners.get(event)?.delete(listener as Listener<never>)
  }

  listenerCount (event: keyof Events): number {
    return this.#listeners.get(event)?.size ?? 0
  }

  protected emit<K extends keyof Events> (event: K, value: Events[K]): void {
    const set = this.#listeners.get(event)
    if (set === undefined) return
    for (const listener of [...set]) {
      try {
        (listener as Listener<Events[K]>)(value)
      } catch (err) {
        queueMicrotask(() => { throw err })
      }
    }
  }

  /** Called after a listener is added; subclasses use it to start delivering. */
  protected listenerAdded (_event: keyof Events): void {}
}
