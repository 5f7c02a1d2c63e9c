export * from './bus.ts'
export { MemoryBus } from './memory-bus.ts'
export { TokenBuckets } from './token-bucket.ts'
