/**
 * Last-resort cleanup when the test process goes away without `stop()`: an uncaught error,
 * `process.exit`, or SIGINT/SIGTERM/SIGHUP (tap's timeout, Ctrl-C). Everything here runs
 * synchronously, as an 'exit' listener must. Child processes are killed before anything is cleaned
 * up, so that nothing still uses what is being removed.
 */
export type ExitPhase = 'kill' | 'clean'

const tasks: Record<ExitPhase, Set<() => void>> = { kill: new Set(), clean: new Set() }
let hooked = false

/** Registers `task` for an abnormal exit; returns the function that unregisters it. */
export function onExit (phase: ExitPhase, task: () => void): () => void {
  hook()
  tasks[phase].add(task)
  return () => { tasks[phase].delete(task) }
}

function runAll (): void {
  for (const phase of ['kill', 'clean'] as const) {
    for (const task of tasks[phase]) {
      try { task() } catch {}
    }
    tasks[phase].clear()
  }
}

function hook (): void {
  if (hooked) return
  hooked = true
  process.on('exit', runAll)
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      runAll()
      // Our listener replaced the default action: re-raise so the process still dies of it,
      // unless someone else also listens (then it is theirs to handle).
      if (process.listenerCount(signal) === 0) process.kill(process.pid, signal)
    })
  }
}
