import WebSocket from 'ws'

export interface HeapSample {
  /** V8 heap in use after a full GC, bytes. */
  heapUsed: number
}

/**
 * Forces a full garbage collection in a Node process through its inspector (started with
 * `--inspect=127.0.0.1:0`) and reads the heap in use. The same method for every target, so
 * "heap per connection" compares like with like; the session is closed afterwards.
 */
export async function heapAfterGc (inspectorUrl: string, timeoutMs = 20_000): Promise<HeapSample> {
  const ws = new WebSocket(inspectorUrl, { perMessageDeflate: false })
  const timer = setTimeout(() => ws.terminate(), timeoutMs)
  try {
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve())
      ws.once('error', reject)
    })
    let id = 0
    const call = async (method: string): Promise<Record<string, unknown>> => {
      const callId = ++id
      return await new Promise((resolve, reject) => {
        const onMessage = (data: WebSocket.RawData): void => {
          const reply = JSON.parse(String(data)) as { id?: number, result?: Record<string, unknown>, error?: { message: string } }
          if (reply.id !== callId) return
          ws.off('message', onMessage)
          if (reply.error !== undefined) reject(new Error(`${method}: ${reply.error.message}`))
          else resolve(reply.result ?? {})
        }
        ws.on('message', onMessage)
        ws.once('close', () => reject(new Error(`inspector closed during ${method}`)))
        ws.send(JSON.stringify({ id: callId, method }))
      })
    }
    // Twice: the first pass can leave weakly held and finaliser-held objects for the second.
    await call('HeapProfiler.collectGarbage')
    await call('HeapProfiler.collectGarbage')
    const usage = await call('Runtime.getHeapUsage')
    return { heapUsed: Number(usage.usedSize) }
  } finally {
    clearTimeout(timer)
    ws.close()
  }
}
