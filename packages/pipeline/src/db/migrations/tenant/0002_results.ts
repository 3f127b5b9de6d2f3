import * as SqlClient from "@effect/sql/SqlClient"
import { Effect } from "effect"

/** What the nightly run materializes: one category per user, and metrics per group. */
export default Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  yield* sql`
    CREATE TABLE work_categories (
      user_id         text             PRIMARY KEY,
      category        text             NOT NULL,
      confidence      double precision NOT NULL,
      explanation     text             NOT NULL,
      recommendations jsonb            NOT NULL,
      evidence_apps   jsonb            NOT NULL,
      alternatives    jsonb            NOT NULL,
      reasons         jsonb            NOT NULL,
      categorizer     text             NOT NULL,
      run_id          uuid             NOT NULL,
      categorized_at  timestamptz      NOT NULL
    )`
  yield* sql`CREATE INDEX work_categories_category ON work_categories (category)`
  yield* sql`
    CREATE TABLE productivity_metrics (
      as_of                         date             NOT NULL,
      group_by                      text             NOT NULL,
      group_value                   text             NOT NULL,
      window_days                   integer          NOT NULL,
      employees                     integer          NOT NULL,
      active_days                   integer          NOT NULL,
      accesses                      bigint           NOT NULL,
      avg_auth_step                 double precision NOT NULL,
      distinct_apps_per_day         double precision NOT NULL,
      auth_waste_hours              double precision NOT NULL,
      context_switch_waste_hours    double precision NOT NULL,
      waste_hours_per_employee_week double precision NOT NULL,
      run_id                        uuid             NOT NULL,
      PRIMARY KEY (as_of, group_by, group_value)
    )`
})
