import * as SqlClient from "@effect/sql/SqlClient"
import { Effect } from "effect"

/**
 * The LLM request limiter's buckets, one per API key (known by a hash of it and its endpoint,
 * never the key), shared by every process that uses the key: requests and tokens left, as of `at`.
 */
export default Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  yield* sql`
    CREATE TABLE llm_buckets (
      key      text             PRIMARY KEY,
      requests double precision NOT NULL,
      tokens   double precision NOT NULL,
      at       timestamptz      NOT NULL
    )`
})
