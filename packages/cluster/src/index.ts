/**
 * @pan/cluster: a real PAN cluster for tests and benchmarks, and a client that survives it.
 *
 *   const cluster = await startCluster({ replicas: 3 })      // fresh database, private Redis, nginx + TLS
 *   t.teardown(() => cluster.stop())
 *   await cluster.http('POST', '/v1/rooms', { as: 'admin', role: 'admin', body: { id: 'r', name: 'R', visibility: 'public' } })
 *   const agent = new Agent({ url: cluster.wsUrl, token: cluster.token('a1'), ca: cluster.ca })
 *   await agent.connect(); await agent.join('r'); agent.send('r', 'hi')
 *   await cluster.replicas[0].kill()                          // SIGKILL; .start() brings it back on its port
 *   await agent.settle()                                      // every send acked, across reconnects
 */
export { startCluster, type Cluster, type ClusterOptions, type HttpOptions, type StopOptions } from './cluster.ts'
export { Agent, type AgentOptions, type AckFrame, type ErrorFrame, type HelloFrame, type JoinedFrame, type MessageFrame } from './agent.ts'
export { RoomLog } from './room-log.ts'
export type { Replica } from './replica.ts'
export { PrivateRedis } from './redis.ts'
export { freePort } from './ports.ts'
export type { Nginx } from './nginx.ts'
export type { HttpResponse } from './http.ts'
export { signHs256, type TokenClaims } from './token.ts'
