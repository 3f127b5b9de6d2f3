import * as SqlClient from "@effect/sql/SqlClient"
import type { LlmCall } from "@workcat/core"
import { Effect } from "effect"

export interface SpendRow {
  readonly period: string
  readonly calls: number
  readonly inputTokens: number
  readonly cachedTokens: number
  readonly outputTokens: number
  readonly costUsd: number
}

/** The tenant's LLM spend (`llm_calls`): every call with its tokens and cost, summed by day and month. */
export class CostLedger extends Effect.Service<CostLedger>()("workcat/CostLedger", {
  effect: Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient

    const record = (call: LlmCall, runId: string | null) =>
      sql`
        INSERT INTO llm_calls (run_id, user_id, operation, model, input_tokens, cached_tokens, output_tokens, cost_usd, status)
        VALUES (${runId}, ${call.userId}, ${call.operation}, ${call.model}, ${call.inputTokens}, ${call.cachedTokens},
                ${call.outputTokens}, ${call.costUsd}, ${call.status})`.pipe(Effect.orDie, Effect.asVoid)

    /** This calendar month's spend so far (UTC). */
    const monthSpend = sql<{ usd: number }>`
      SELECT coalesce(sum(cost_usd), 0)::float AS usd FROM llm_calls WHERE at >= date_trunc('month', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'`.pipe(
      Effect.map(([r]) => r?.usd ?? 0),
      Effect.orDie
    )

    const by = (unit: "day" | "month", since: string) =>
      sql<SpendRow>`
        SELECT to_char(date_trunc(${unit}, at AT TIME ZONE 'UTC'), ${unit === "day" ? "YYYY-MM-DD" : "YYYY-MM"}) AS period,
               count(*)::int AS calls, sum(input_tokens)::int AS "inputTokens", sum(cached_tokens)::int AS "cachedTokens",
               sum(output_tokens)::int AS "outputTokens", sum(cost_usd)::float AS "costUsd"
        FROM llm_calls WHERE at >= now() - ${since}::interval
        GROUP BY 1 ORDER BY 1 DESC`.pipe(Effect.orDie)

    /** Spend of the last 31 days by day and of the last 12 months by month. */
    const report = Effect.all({ days: by("day", "31 days"), months: by("month", "12 months") }).pipe(Effect.withSpan("CostLedger.report"))

    return { record, monthSpend, report } as const
  })
}) {}
