import * as SqlClient from "@effect/sql/SqlClient"
import { Effect } from "effect"

/**
 * A BigQuery tenant's forgets still to be applied in its dataset: a DML statement there bills the
 * whole of every partition it touches, so the day's forgets go in one statement per table, at the
 * start of the next night (`BigQueryExport.erase`), before the night reads anything.
 */
export default Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  yield* sql`CREATE TABLE bq_erasures (user_id text PRIMARY KEY, requested_at timestamptz NOT NULL DEFAULT now())`
})
