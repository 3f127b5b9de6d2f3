import * as SqlClient from "@effect/sql/SqlClient"
import { Effect } from "effect"

/**
 * The catalog of window sums (`warehouse/postgres/WindowSums.ts`): per night date and window
 * settings, a pair of tables `<name>_apps` and `<name>_users` holding each user's sums over the
 * profile, recent and metrics windows ending on that date. They are derived from the rollup and
 * rebuilt from it when missing, so they are unlogged: a crash empties them, catalog included.
 */
export default Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  yield* sql`
    CREATE UNLOGGED TABLE window_sums (
      name         text        PRIMARY KEY,
      as_of        date        NOT NULL,
      profile_days integer     NOT NULL,
      recent_days  integer     NOT NULL,
      metrics_days integer     NOT NULL,
      built_at     timestamptz NOT NULL DEFAULT clock_timestamp()
    )`
})
