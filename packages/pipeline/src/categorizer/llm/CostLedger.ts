import * as SqlClient from "@effect/sql/SqlClient"
import type { LlmCall } from "@workcat/core"
import { Array as Arr, Effect, Layer } from "effect"
import { drain } from "../../durable/Batches.js"
import { TenantRetention } from "../../durable/TenantRetention.js"
import { ResponseCache } from "./ResponseCache.js"

export interface SpendRow {
  readonly period: string
  readonly calls: number
  readonly inputTokens: number
  readonly cachedTokens: number
  readonly outputTokens: number
  readonly costUsd: number
}

/**
 * Calls are kept this long whatever the tenant's ledger retention: the report sums them by month
 * over the last 12 months.
 */
const COST_HISTORY = "13 months"

/** What retention does to the cost ledger: calls unlinked from their run and person, and calls deleted. */
export interface CostLedgerExpiry {
  readonly unlinked: number
  readonly deleted: number
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

    /** Many calls at once (a batch's), a few thousand rows a statement. */
    const recordMany = (calls: ReadonlyArray<LlmCall>, runId: string | null) =>
      Effect.forEach(
        Arr.chunksOf(calls, 2_000),
        (chunk) =>
          sql`INSERT INTO llm_calls ${sql.insert(
            chunk.map((c) => ({
              run_id: runId,
              user_id: c.userId,
              operation: c.operation,
              model: c.model,
              input_tokens: c.inputTokens,
              cached_tokens: c.cachedTokens,
              output_tokens: c.outputTokens,
              cost_usd: c.costUsd,
              status: c.status
            }))
          )}`,
        { discard: true }
      ).pipe(Effect.orDie)

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

    /** The BigQuery jobs' spend (`warehouse_queries`, bytes billed at the tenant's rate) of the last 12 months, by month. */
    const warehouseReport = sql<{ period: string; jobs: number; bytesBilled: number; costUsd: number }>`
      SELECT to_char(date_trunc('month', at AT TIME ZONE 'UTC'), 'YYYY-MM') AS period, count(*)::int AS jobs,
             sum(bytes_billed)::float8 AS "bytesBilled", sum(cost_usd)::float AS "costUsd"
      FROM warehouse_queries WHERE at >= now() - interval '12 months'
      GROUP BY 1 ORDER BY 1 DESC`.pipe(Effect.orDie, Effect.withSpan("CostLedger.warehouseReport"))

    /** Older than `days`: a call's run and person go; older than that and than the report's 12 months: the call goes. */
    const unlinkable = (days: number) =>
      sql`at < now() - make_interval(days => ${days}) AND (user_id IS NOT NULL OR run_id IS NOT NULL)`
    const deletable = (days: number) => sql`at < least(now() - make_interval(days => ${days}), now() - ${COST_HISTORY}::interval)`

    /**
     * Retention, `batch` rows a statement: deletes the calls past both `days` and the report's
     * history, and unlinks the others older than `days` from their run and person (as forgetting
     * a person does). Their tokens and cost stay, so every figure of `report` and `monthSpend`
     * stays as it was.
     */
    const expire = Effect.fn("CostLedger.expire")(function* (days: number, batch: number) {
      const deleted = yield* drain(
        sql`DELETE FROM llm_calls WHERE id = ANY(ARRAY(SELECT id FROM llm_calls WHERE ${deletable(days)} LIMIT ${batch})) RETURNING 1`.pipe(
          Effect.map((rows) => rows.length)
        ),
        batch
      )
      const unlinked = yield* drain(
        sql`UPDATE llm_calls SET user_id = NULL, run_id = NULL
            WHERE id = ANY(ARRAY(SELECT id FROM llm_calls WHERE ${unlinkable(days)} LIMIT ${batch})) RETURNING 1`.pipe(
          Effect.map((rows) => rows.length)
        ),
        batch
      )
      return { unlinked, deleted } satisfies CostLedgerExpiry
    }, Effect.orDie)

    /** What `expire` would do now. */
    const expiring = (days: number) =>
      sql<CostLedgerExpiry>`
        SELECT (SELECT count(*) FROM llm_calls WHERE ${unlinkable(days)} AND NOT (${deletable(days)}))::int AS unlinked,
               (SELECT count(*) FROM llm_calls WHERE ${deletable(days)})::int AS deleted`.pipe(
        Effect.map((rows) => rows[0]!),
        Effect.orDie
      )

    return { warehouseReport, record, recordMany, monthSpend, report, expire, expiring } as const
  })
}) {}

/** The cost ledger's part in the daily ledger sweep (see `CostLedger.expire`), with the answers kept longer than the ledger's days. */
export const CostLedgerRetentionLive = Layer.effect(
  TenantRetention,
  Effect.all([CostLedger, ResponseCache]).pipe(
    Effect.map(([ledger, answers]) => {
      const named = (e: CostLedgerExpiry, answersDeleted: number) => ({
        llmCallsUnlinked: e.unlinked,
        llmCallsDeleted: e.deleted,
        llmAnswersDeleted: answersDeleted
      })
      return {
        expire: (days: number, batch: number) =>
          Effect.zipWith(ledger.expire(days, batch), answers.expire(days, batch), named),
        expiring: (days: number) => Effect.zipWith(ledger.expiring(days), answers.expiring(days), named)
      }
    })
  )
).pipe(Layer.provide(Layer.merge(CostLedger.Default, ResponseCache.Default)))
