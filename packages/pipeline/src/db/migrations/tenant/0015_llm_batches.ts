import * as SqlClient from "@effect/sql/SqlClient"
import { Effect } from "effect"

/**
 * A night's Batch API batches (`llm_batches`: which run and round, its budget reservation, when
 * its results were collected) and, until then, what each line answers (`llm_batch_lines`: the
 * request's key and person, deleted once collected or with the person).
 */
export default Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  yield* sql`
    CREATE TABLE llm_batches (
      id             text        PRIMARY KEY,
      run_id         uuid        NOT NULL,
      round          integer     NOT NULL,
      model          text        NOT NULL,
      lines          integer     NOT NULL,
      reservation_id bigint,
      submitted_at   timestamptz NOT NULL DEFAULT now(),
      collected_at   timestamptz,
      outcome        jsonb
    )`
  yield* sql`
    CREATE TABLE llm_batch_lines (
      batch_id    text NOT NULL,
      custom_id   text NOT NULL,
      user_id     text,
      operation   text NOT NULL,
      model       text NOT NULL,
      request_key text NOT NULL,
      PRIMARY KEY (batch_id, custom_id)
    )`
  yield* sql`CREATE INDEX llm_batch_lines_user ON llm_batch_lines (user_id)`
})
