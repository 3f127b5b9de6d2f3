import * as SqlClient from "@effect/sql/SqlClient"
import { Effect } from "effect"

/**
 * Valid LLM answers by the exact request they answer (a hash of the model, prompt version and
 * messages), so a retried or re-run night does not pay twice for one answer; deleted with the
 * person, and by the ledger's retention.
 */
export default Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  yield* sql`
    CREATE TABLE llm_responses (
      request_key text        PRIMARY KEY,
      user_id     text,
      operation   text        NOT NULL,
      model       text        NOT NULL,
      content     text        NOT NULL,
      created_at  timestamptz NOT NULL DEFAULT now()
    )`
  yield* sql`CREATE INDEX llm_responses_user ON llm_responses (user_id)`
  yield* sql`CREATE INDEX llm_responses_created ON llm_responses (created_at)`
})
