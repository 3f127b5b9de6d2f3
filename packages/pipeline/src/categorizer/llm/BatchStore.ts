import * as SqlClient from "@effect/sql/SqlClient"
import type { LlmCall } from "@workcat/core"
import { CurrentTenant } from "@workcat/tenancy"
import { Array as Arr, Effect, Schema } from "effect"
import { type BatchLine, type BatchResult, customId } from "./BatchMode.js"
import { LlmBudget } from "./Budget.js"
import { ResponseCache } from "./ResponseCache.js"

/** A batch's budget reservation holds until its results are collected, a day and an hour at most (the Batch API's window is 24 h). */
const BATCH_RESERVATION_SECONDS = 25 * 3600

/** What a collected batch gave: answers kept, lines that failed or expired, answers cut off. */
export const BatchOutcome = Schema.Struct({
  answered: Schema.Int,
  failed: Schema.Int,
  cutOff: Schema.Int,
  costUsd: Schema.Number
})
export type BatchOutcome = typeof BatchOutcome.Type

/**
 * The tenant's side of batch mode: a batch file's budget reservation, what each submitted line
 * answers (`llm_batch_lines`), and, once a batch ended, its results collected exactly once: the
 * answers kept (`ResponseCache`), their cost recorded at the batch price, the reservation given
 * back and the lines forgotten, in one transaction.
 */
export class LlmBatchStore extends Effect.Service<LlmBatchStore>()("workcat/LlmBatchStore", {
  effect: Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const tenant = yield* CurrentTenant
    const budget = yield* LlmBudget
    const answers = yield* ResponseCache
    const { budgetWarnAt, monthlyBudgetUsd } = tenant.settings.llm

    /** Reserves a file's estimated cost; null when it does not fit in what is left of the budget. */
    const reserve = (usd: number) => Effect.map(budget.reserve(usd, monthlyBudgetUsd, BATCH_RESERVATION_SECONDS), (r) => r.id)

    const submitted = (batch: { id: string; runId: string; round: number; model: string; reservationId: string | null }, lines: ReadonlyArray<BatchLine>) =>
      Effect.gen(function* () {
        yield* sql`
          INSERT INTO llm_batches (id, run_id, round, model, lines, reservation_id)
          VALUES (${batch.id}, ${batch.runId}, ${batch.round}, ${batch.model}, ${lines.length}, ${batch.reservationId})
          ON CONFLICT (id) DO NOTHING`
        for (const chunk of Arr.chunksOf(lines, 2_000)) {
          yield* sql`
            INSERT INTO llm_batch_lines ${sql.insert(
              chunk.map((l) => ({
                batch_id: batch.id,
                custom_id: customId(l.request),
                user_id: l.request.userId,
                operation: l.request.operation,
                model: l.request.model,
                request_key: l.request.key
              }))
            )}
            ON CONFLICT DO NOTHING`
        }
      }).pipe(sql.withTransaction, Effect.orDie)

    /**
     * Collects an ended batch's results, once: a batch collected before (by a worker that died
     * after) gives null. `cost` prices a line at the batch price.
     */
    const collect = (
      batchId: string,
      runId: string,
      results: ReadonlyArray<BatchResult>,
      cost: (model: string, usage: NonNullable<BatchResult["usage"]>) => number
    ) =>
      Effect.gen(function* () {
        const [batch] = yield* sql<{ reservationId: string | null }>`
          SELECT reservation_id::text AS "reservationId" FROM llm_batches WHERE id = ${batchId} AND collected_at IS NULL FOR UPDATE`
        if (batch === undefined) return null
        const lines = new Map(
          (yield* sql<{ customId: string; userId: string | null; operation: "categorize" | "explain"; model: string; key: string }>`
            SELECT custom_id AS "customId", user_id AS "userId", operation, model, request_key AS key
            FROM llm_batch_lines WHERE batch_id = ${batchId}`).map((l) => [l.customId, l])
        )
        const calls: Array<LlmCall> = []
        const kept: Array<{ request: { key: string; userId: string | null; operation: "categorize" | "explain"; model: string }; content: string }> = []
        let cutOff = 0
        for (const r of results) {
          const line = lines.get(r.customId)
          if (line === undefined || r.usage === undefined || r.content === undefined) continue
          const stop = r.finish === "stop"
          if (!stop) cutOff++
          calls.push({ operation: line.operation, model: line.model, userId: line.userId, ...r.usage, costUsd: cost(line.model, r.usage), status: stop ? "ok" : "invalid" })
          if (stop) kept.push({ request: line, content: r.content })
        }
        // Lines answered with an error, or not at all (a batch that expired, failed or was cancelled).
        const failed = lines.size - calls.length
        if (calls.length > 0) {
          const { firstPast, spentUsd } = yield* budget.spend(calls, runId, budgetWarnAt * monthlyBudgetUsd)
          if (firstPast) {
            yield* Effect.logWarning(`tenant ${tenant.id} has spent $${spentUsd.toFixed(2)} of its $${monthlyBudgetUsd.toFixed(2)} monthly LLM budget`)
          }
        }
        yield* answers.rememberMany(kept)
        const outcome: BatchOutcome = { answered: kept.length, failed, cutOff, costUsd: calls.reduce((n, c) => n + c.costUsd, 0) }
        yield* sql`UPDATE llm_batches SET collected_at = now(), outcome = ${JSON.stringify(outcome)}::jsonb WHERE id = ${batchId}`
        yield* sql`DELETE FROM llm_batch_lines WHERE batch_id = ${batchId}`
        if (batch.reservationId !== null) yield* budget.release(batch.reservationId)
        return outcome
      }).pipe(sql.withTransaction, Effect.orDie, Effect.withSpan("LlmBatchStore.collect"))

    return { reserve, release: budget.release, submitted, collect } as const
  }),
  dependencies: [LlmBudget.Default, ResponseCache.Default]
}) {}
