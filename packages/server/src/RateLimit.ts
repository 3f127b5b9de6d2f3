/**
 * A token bucket per key: `perMinute` requests a minute on average, bursts up to a tenth of a
 * minute's worth (at least 5). The map is bounded: the least recently seen keys go first.
 */
export const makeRateLimiter = (options: { readonly perMinute: number; readonly maxKeys?: number; readonly now?: () => number }) => {
  const now = options.now ?? Date.now
  const capacity = Math.max(5, Math.ceil(options.perMinute / 10))
  const refillPerMs = options.perMinute / 60_000
  const maxKeys = options.maxKeys ?? 10_000
  const buckets = new Map<string, { tokens: number; at: number }>()

  /** Takes one request for `key`: 0 when allowed, else the seconds to wait. */
  return (key: string): number => {
    const t = now()
    const bucket = buckets.get(key) ?? { tokens: capacity, at: t }
    buckets.delete(key) // re-inserted below: Map order is recency order
    bucket.tokens = Math.min(capacity, bucket.tokens + (t - bucket.at) * refillPerMs)
    bucket.at = t
    let wait = 0
    if (bucket.tokens >= 1) bucket.tokens -= 1
    else wait = Math.ceil((1 - bucket.tokens) / refillPerMs / 1000)
    buckets.set(key, bucket)
    if (buckets.size > maxKeys) buckets.delete(buckets.keys().next().value!)
    return wait
  }
}
