import t from 'tap'
import { startServer } from './helpers.ts'

/** What an operator's dashboard reads: the series move when the thing they name happens. */
t.test('/metrics counts frames out by type, fan-out latency and drain progress', async (t) => {
  const server = await startServer(t, 'pglite')
  await server.room('lobby')
  const ann = await server.connect('ann')
  const bob = await server.connect('bob')
  await ann.request({ type: 'join', room: 'lobby' })
  await bob.request({ type: 'join', room: 'lobby' })
  await ann.request({ type: 'send', room: 'lobby', id: 'm1', text: 'hi' })
  await bob.next((f) => f.type === 'message')

  const scrape = async (): Promise<string> => await (await fetch(`${server.url}/metrics`)).text()
  const value = (text: string, series: string): number => {
    const line = text.split('\n').find((l) => l.startsWith(series + ' '))
    return line === undefined ? NaN : Number(line.slice(series.length + 1))
  }
  let text = await scrape()
  t.equal(value(text, 'pan_frames_out_total{type="hello"}'), 2, 'two hellos')
  t.equal(value(text, 'pan_frames_out_total{type="joined"}'), 2, 'two joined replies')
  t.equal(value(text, 'pan_frames_out_total{type="ack"}'), 1, 'one ack')
  t.equal(value(text, 'pan_frames_out_total{type="message"}'), 2, 'the message to both members')
  t.equal(value(text, 'pan_frames_out_total{type="presence.join"}'), 1, 'ann saw bob arrive')
  t.equal(value(text, 'pan_fanout_seconds_count'), 1, 'one committed batch fanned out')
  t.equal(value(text, 'pan_draining'), 0)

  await server.app.core.gateway.drain(0)
  text = await scrape()
  t.equal(value(text, 'pan_draining'), 1)
  t.equal(value(text, 'pan_drain_remaining_connections'), 0)
})
