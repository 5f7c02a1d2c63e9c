import * as hdr from 'hdr-histogram-js'

/**
 * Latency histograms in microseconds (1 µs .. 60 s, 3 significant digits): recorded in the client
 * workers, shipped to the coordinator compressed, and merged there. Percentiles always come from
 * a histogram, never from averages.
 */
export type Histogram = hdr.Histogram

export function newHistogram (): Histogram {
  return hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: 60_000_000, numberOfSignificantValueDigits: 3 })
}

/** Records a latency given in milliseconds (fractional); values beyond the range are clamped. */
export function recordMs (h: Histogram, ms: number): void {
  const us = Math.round(ms * 1000)
  h.recordValue(us < 1 ? 1 : us > 60_000_000 ? 60_000_000 : us)
}

export const encode = (h: Histogram): string => hdr.encodeIntoCompressedBase64(h)

/** Merges encoded histograms into one. */
export function merge (encoded: readonly string[]): Histogram {
  const total = newHistogram()
  for (const e of encoded) total.add(hdr.decodeFromCompressedBase64(e))
  return total
}

export interface Percentiles {
  count: number
  /** Milliseconds. */
  p50: number
  p90: number
  p99: number
  max: number
}

export function percentiles (h: Histogram): Percentiles {
  const ms = (us: number): number => Math.round(us) / 1000
  return {
    count: h.totalCount,
    p50: ms(h.getValueAtPercentile(50)),
    p90: ms(h.getValueAtPercentile(90)),
    p99: ms(h.getValueAtPercentile(99)),
    max: ms(h.maxValue)
  }
}
