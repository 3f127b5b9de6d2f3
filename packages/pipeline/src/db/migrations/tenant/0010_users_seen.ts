import * as SqlClient from "@effect/sql/SqlClient"
import { Effect } from "effect"

/**
 * Every user with activity in the rollup, and the last day of it: what the night asks when it
 * keeps a categorized user (`EventWarehouse.usersWithActivity`), answered without the rollup's
 * days, which a BigQuery tenant's PostgreSQL does not keep for long. A settle adds the days it
 * recomputed; forget and key rotation treat it as the rollup; retention drops who was last seen before it.
 */
export default Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  yield* sql`CREATE TABLE users_seen (user_id text PRIMARY KEY, last_day date NOT NULL)`
  yield* sql`INSERT INTO users_seen (user_id, last_day) SELECT user_id, max(day) FROM user_app_daily GROUP BY user_id`
})
