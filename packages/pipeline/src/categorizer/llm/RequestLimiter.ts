import { Effect } from "effect"

export interface RequestLimiter {
  /** Waits until a request of about `tokens` tokens fits both per-minute budgets, then takes it. */
  readonly acquire: (tokens: number) => Effect.Effect<void>
  /** Corrects the token budget once the real count is known (the estimate was `estimated`). */
  readonly settle: (estimated: number, actual: number) => Effect.Effect<void>
}

/**
 * Requests and tokens per minute, as two token buckets refilled continuously. A bucket holds one
 * second's worth and refills at the rest of the minute's budget, so no 60-second window sees more
 * than the limit (99% of it) (a provider counts windows, not rates) and calls are paced evenly instead of
 * hitting the provider at once. One process-wide instance serves every tenant: the provider
 * limits the API key, not a tenant.
 */
export const makeRequestLimiter = (options: { readonly requestsPerMinute: number; readonly tokensPerMinute: number }) =>
  Effect.gen(function* () {
    // 1% under the limit: a request reaches the provider a little later than it leaves here, and
    // not always equally later.
    const perMinute = { requests: options.requestsPerMinute * 0.99, tokens: options.tokensPerMinute * 0.99 }
    const requestCapacity = Math.max(1, perMinute.requests / 60)
    const tokenCapacity = Math.max(1, perMinute.tokens / 60)
    const requestRate = Math.max(perMinute.requests - requestCapacity, 1) / 60_000
    const tokenRate = Math.max(perMinute.tokens - tokenCapacity, 1) / 60_000
    let requests = requestCapacity
    let tokens = tokenCapacity
    let at = Date.now()
    const refill = () => {
      const now = Date.now()
      requests = Math.min(requestCapacity, requests + (now - at) * requestRate)
      tokens = Math.min(tokenCapacity, tokens + (now - at) * tokenRate)
      at = now
    }
    const turn = yield* Effect.makeSemaphore(1)

    const acquire = (wanted: number) =>
      turn.withPermits(1)(
        Effect.gen(function* () {
          const cost = Math.min(wanted, tokenCapacity)
          while (true) {
            refill()
            if (requests >= 1 && tokens >= cost) {
              requests -= 1
              tokens -= cost
              return
            }
            const waitMs = Math.max((1 - requests) / requestRate, (cost - tokens) / tokenRate, 1)
            yield* Effect.sleep(Math.ceil(waitMs))
          }
        })
      )

    const settle = (estimated: number, actual: number) =>
      Effect.sync(() => {
        refill()
        tokens = Math.min(tokenCapacity, tokens + estimated - actual)
      })

    return { acquire, settle } satisfies RequestLimiter
  })
