import * as SqlClient from "@effect/sql/SqlClient"
import { Effect } from "effect"

/**
 * Ledger retention (`durable/Retention.ts`) clears the run and the person from cost-ledger rows
 * older than the tenant's `ledgerRetentionDays`, and keeps the rows themselves (their tokens and
 * cost) for the cost report. This index holds only the rows still naming someone, so the daily
 * sweep finds the newly expired ones without walking months of rows it cleared before.
 */
// IF NOT EXISTS: applying it again (as tests do before it is registered) changes nothing.
export default Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  yield* sql`CREATE INDEX IF NOT EXISTS llm_calls_identified ON llm_calls (at) WHERE user_id IS NOT NULL OR run_id IS NOT NULL`
})
