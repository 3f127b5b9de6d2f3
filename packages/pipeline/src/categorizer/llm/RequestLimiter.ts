import type * as SqlClient from "@effect/sql/SqlClient"
import { Effect } from "effect"
import { createHash } from "node:crypto"

export interface RequestLimiter {
  /** Waits until a request of about `tokens` tokens fits both per-minute budgets, then takes it. */
  readonly acquire: (tokens: number) => Effect.Effect<void>
  /** Corrects the token budget once the real count is known (the estimate was `estimated`). */
  readonly settle: (estimated: number, actual: number) => Effect.Effect<void>
}

/** The bucket of an API key at an endpoint: a hash of both, so the key itself is never stored. */
export const limiterKey = (apiKey: string, baseUrl: string | undefined) =>
  `k_${createHash("sha256").update(`${baseUrl ?? "https://api.openai.com/v1"}\u0000${apiKey}`).digest("hex").slice(0, 32)}`

/**
 * Requests and tokens per minute of one API key, as two token buckets refilled continuously, kept
 * in the control plane (`llm_buckets`) so that every process using the key draws from the same
 * ones: any number of workers stay under the key's limits together. The requests' bucket holds two
 * requests (the tokens' one second's worth) and refills at the rest of the minute's budget, so no
 * 60-second window sees more than the limit (99% of it: a provider counts windows, not rates) and
 * calls are paced evenly, one every 60 / (0.99 x limit - 2) seconds. A take is
 * one statement (the refill and the take at the database's clock, under the row's lock); a
 * process that dies holds nothing back. Waiting is in the process, for as long as the bucket says,
 * one request of the process at a time (the others queue behind it in the process).
 */
export const makeRequestLimiter = (
  sql: SqlClient.SqlClient,
  options: { readonly key: string; readonly requestsPerMinute: number; readonly tokensPerMinute: number }
) =>
  Effect.gen(function* () {
    // 1% under the limit: a request reaches the provider a little later than it leaves here, and
    // not always equally later.
    const perMinute = { requests: options.requestsPerMinute * 0.99, tokens: options.tokensPerMinute * 0.99 }
    // Two requests: room for a waiter a few milliseconds late to find its request still there (with
    // one, what accrues meanwhile is lost); a bigger burst would cost as much refill, since a window holds both.
    const requestCapacity = 2
    const tokenCapacity = Math.max(1, perMinute.tokens / 60)
    const requestRate = Math.max(perMinute.requests - requestCapacity, 1) / 60_000
    const tokenRate = Math.max(perMinute.tokens - tokenCapacity, 1) / 60_000
    const { key } = options
    yield* sql`
      INSERT INTO llm_buckets (key, requests, tokens, at) VALUES (${key}, ${requestCapacity}, ${tokenCapacity}, clock_timestamp())
      ON CONFLICT (key) DO NOTHING`.pipe(Effect.orDie)

    /** Refills the bucket to now and takes `requests` and `tokens` if both are there; what was there. */
    const take = (requests: number, tokens: number, always: boolean) =>
      sql<{ requests: number; tokens: number }>`
        WITH now AS (
          SELECT least(${requestCapacity}::float8, requests + extract(epoch FROM clock_timestamp() - at) * 1000 * ${requestRate}::float8) AS requests,
                 least(${tokenCapacity}::float8, tokens + extract(epoch FROM clock_timestamp() - at) * 1000 * ${tokenRate}::float8) AS tokens
          FROM llm_buckets WHERE key = ${key} FOR UPDATE
        )
        UPDATE llm_buckets b SET
          requests = CASE WHEN ${always} OR (now.requests >= ${requests} AND now.tokens >= ${tokens}) THEN now.requests - ${requests} ELSE now.requests END,
          tokens = least(${tokenCapacity}::float8, CASE WHEN ${always} OR (now.requests >= ${requests} AND now.tokens >= ${tokens}) THEN now.tokens - ${tokens} ELSE now.tokens END),
          at = clock_timestamp()
        FROM now WHERE b.key = ${key}
        RETURNING now.requests AS requests, now.tokens AS tokens`.pipe(
        Effect.map((rows) => rows[0] ?? { requests: requestCapacity, tokens: tokenCapacity }),
        Effect.orDie
      )

    // One waiter of this process at a time asks the bucket: dozens waking together would queue on its row for nothing.
    const turn = yield* Effect.makeSemaphore(1)
    const acquire = (wanted: number) =>
      Effect.gen(function* () {
        const cost = Math.min(wanted, tokenCapacity)
        while (true) {
          const had = yield* take(1, cost, false)
          if (had.requests >= 1 && had.tokens >= cost) return
          const waitMs = Math.max((1 - had.requests) / requestRate, (cost - had.tokens) / tokenRate, 1)
          yield* Effect.sleep(Math.ceil(waitMs))
        }
      }).pipe(turn.withPermits(1))

    // Tokens estimated but not used go back (or, used beyond the estimate, are taken).
    const settle = (estimated: number, actual: number) => take(0, actual - estimated, true).pipe(Effect.asVoid)

    return { acquire, settle } satisfies RequestLimiter
  })
