import * as SqlClient from "@effect/sql/SqlClient"
import { Effect } from "effect"

/**
 * When each tenant's run ledger was last swept of finished runs past its retention, and what that
 * removed: a worker claims a tenant's sweep here, so the tenant is swept at most once a day
 * however many workers run.
 */
// IF NOT EXISTS: applying it again (as tests do before it is registered) changes nothing.
export default Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  yield* sql`
    CREATE TABLE IF NOT EXISTS ledger_sweeps (
      tenant   text        PRIMARY KEY,
      swept_at timestamptz NOT NULL,
      removed  jsonb
    )`
})
