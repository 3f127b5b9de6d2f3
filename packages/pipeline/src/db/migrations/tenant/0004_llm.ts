import * as SqlClient from "@effect/sql/SqlClient"
import { Effect } from "effect"

/** LLM spend per call (the cost ledger), and the inputs hash that lets a night skip unchanged users. */
export default Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  yield* sql`
    CREATE TABLE llm_calls (
      id            bigserial     PRIMARY KEY,
      at            timestamptz   NOT NULL DEFAULT now(),
      run_id        uuid,
      user_id       text,
      operation     text          NOT NULL,
      model         text          NOT NULL,
      input_tokens  integer       NOT NULL,
      cached_tokens integer       NOT NULL,
      output_tokens integer       NOT NULL,
      cost_usd      numeric(20,12) NOT NULL,
      status        text          NOT NULL
    )`
  yield* sql`CREATE INDEX llm_calls_at ON llm_calls (at)`
  yield* sql`ALTER TABLE work_categories ADD COLUMN inputs_hash text`
})
