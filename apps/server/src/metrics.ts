import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client'

/** Every Prometheus metric the server exports, on one registry per app instance. */
export function createMetrics () {
  const registry = new Registry()
  collectDefaultMetrics({ register: registry, prefix: 'pan_' })
  return {
    registry,
    connections: new Gauge({ name: 'pan_connections', help: 'Open WebSocket connections on this replica', registers: [registry] }),
    framesIn: new Counter({ name: 'pan_frames_in_total', help: 'Frames received, by type', labelNames: ['type'], registers: [registry] }),
    framesOut: new Counter({ name: 'pan_frames_out_total', help: 'Frames written to sockets, by type', labelNames: ['type'], registers: [registry] }),
    fanoutSeconds: new Histogram({ name: 'pan_fanout_seconds', help: 'From commit to the write on this replica\'s sockets, per committed batch and room', buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5], registers: [registry] }),
    messagesCommitted: new Counter({ name: 'pan_messages_committed_total', help: 'Messages stored', registers: [registry] }),
    commitBatchSize: new Histogram({ name: 'pan_commit_batch_size', help: 'Messages per group-commit transaction', buckets: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000], registers: [registry] }),
    commitSeconds: new Histogram({ name: 'pan_commit_seconds', help: 'Group-commit transaction latency', buckets: [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1], registers: [registry] }),
    deliveries: new Counter({ name: 'pan_deliveries_total', help: 'Message frames fanned out to local sockets', registers: [registry] }),
    replayedMessages: new Counter({ name: 'pan_replayed_messages_total', help: 'Messages replayed from history on join with since', registers: [registry] }),
    busGaps: new Counter({ name: 'pan_bus_gaps_total', help: 'Seq gaps in bus delivery, detected and filled from the database', labelNames: ['event'], registers: [registry] }),
    slowConsumers: new Counter({ name: 'pan_slow_consumers_cut_total', help: 'Sockets closed because their outbound buffer passed the cap', registers: [registry] }),
    draining: new Gauge({ name: 'pan_draining', help: '1 while this replica drains (SIGTERM), else 0', registers: [registry] }),
    drainRemaining: new Gauge({ name: 'pan_drain_remaining_connections', help: 'Connections the drain has yet to close', registers: [registry] }),
    rateLimited: new Counter({ name: 'pan_rate_limited_total', help: 'Requests and frames refused by a rate limit', labelNames: ['kind'], registers: [registry] })
  }
}

export type Metrics = ReturnType<typeof createMetrics>
