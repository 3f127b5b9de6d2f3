import * as SqlClient from "@effect/sql/SqlClient"
import type { LlmCall } from "@workcat/core"
import { Effect } from "effect"
import { CostLedger } from "./CostLedger.js"

/** What a reservation saw: the month's spend and what other calls in flight had reserved. */
export interface Reservation {
  /** Null: refused, the estimate did not fit in what is left of the budget. */
  readonly id: string | null
  readonly spentUsd: number
  readonly reservedUsd: number
}

/**
 * The tenant's monthly LLM budget across every process: a call reserves its estimated cost
 * before its request and settles with its real cost after it. Both lock the month's row
 * (`llm_budget`), so reservations are taken one at a time, each seeing every other still in
 * flight: the month's spend passes the budget only by what calls cost beyond their estimates.
 * A reservation expires after `ttlSeconds`, so a process that dies gives its share back.
 */
export class LlmBudget extends Effect.Service<LlmBudget>()("workcat/LlmBudget", {
  effect: Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const ledger = yield* CostLedger
    const month = sql`to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM')`

    const locked = sql<{ spentUsd: number }>`SELECT spent_usd::float8 AS "spentUsd" FROM llm_budget WHERE month = ${month} FOR UPDATE`
    /** The month's row, locked until the transaction ends; the first time, from the calls recorded before it existed. */
    const lockMonth = Effect.gen(function* () {
      const [row] = yield* locked
      if (row !== undefined) return row
      yield* sql`
        INSERT INTO llm_budget (month, spent_usd)
        SELECT ${month}, coalesce(sum(cost_usd), 0) FROM llm_calls
        WHERE at >= date_trunc('month', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'
        ON CONFLICT DO NOTHING`
      return (yield* locked)[0]!
    })

    const reserve = (usd: number, budgetUsd: number, ttlSeconds: number) =>
      Effect.gen(function* () {
        const { spentUsd } = yield* lockMonth
        yield* sql`DELETE FROM llm_reservations WHERE expires_at <= now()`
        const [{ reservedUsd }] = (yield* sql<{ reservedUsd: number }>`
          SELECT coalesce(sum(usd), 0)::float8 AS "reservedUsd" FROM llm_reservations`) as [{ reservedUsd: number }]
        if (spentUsd + reservedUsd + usd > budgetUsd) return { id: null, spentUsd, reservedUsd } satisfies Reservation
        const [{ id }] = (yield* sql<{ id: string }>`
          INSERT INTO llm_reservations (usd, expires_at) VALUES (${usd}, now() + make_interval(secs => ${ttlSeconds}))
          RETURNING id::text AS id`) as [{ id: string }]
        return { id, spentUsd, reservedUsd } satisfies Reservation
      }).pipe(sql.withTransaction, Effect.orDie, Effect.withSpan("LlmBudget.reserve"))

    const release = (id: string) => sql`DELETE FROM llm_reservations WHERE id = ${id}`.pipe(Effect.orDie, Effect.asVoid)

    /**
     * Records calls in the cost ledger and adds their cost to the month's spend, in one
     * transaction; `firstPast` is true for the one call (or batch), of all processes, that took
     * the month's spend past `warnAtUsd`.
     */
    const spend = (calls: ReadonlyArray<LlmCall>, runId: string | null, warnAtUsd: number) =>
      Effect.gen(function* () {
        yield* lockMonth
        yield* calls.length === 1 ? ledger.record(calls[0]!, runId) : ledger.recordMany(calls, runId)
        const usd = calls.reduce((n, c) => n + c.costUsd, 0)
        const [{ spentUsd }] = (yield* sql<{ spentUsd: number }>`
          UPDATE llm_budget SET spent_usd = spent_usd + ${usd} WHERE month = ${month}
          RETURNING spent_usd::float8 AS "spentUsd"`) as [{ spentUsd: number }]
        const warned = yield* sql`
          UPDATE llm_budget SET warned = true WHERE month = ${month} AND NOT warned AND spent_usd >= ${warnAtUsd} RETURNING 1`
        return { spentUsd, firstPast: warned.length > 0 }
      }).pipe(sql.withTransaction, Effect.orDie, Effect.withSpan("LlmBudget.spend"))

    return { reserve, release, spend } as const
  }),
  dependencies: [CostLedger.Default]
}) {}
