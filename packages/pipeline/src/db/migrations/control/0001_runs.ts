import * as SqlClient from "@effect/sql/SqlClient"
import { Effect } from "effect"

/** The run ledger: one row per pipeline run of a tenant. */
export default Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  yield* sql`
    CREATE TABLE runs (
      id           uuid        PRIMARY KEY,
      tenant       text        NOT NULL,
      pipeline     text        NOT NULL,
      run_key      text        NOT NULL,
      state        text        NOT NULL,
      created_at   timestamptz NOT NULL DEFAULT now(),
      heartbeat_at timestamptz NOT NULL DEFAULT now(),
      finished_at  timestamptz,
      summary      jsonb,
      error        text
    )`
  yield* sql`CREATE INDEX runs_tenant ON runs (tenant, created_at DESC)`
  // At most one run of a key processes at a time.
  yield* sql`CREATE UNIQUE INDEX runs_one_processing ON runs (tenant, pipeline, run_key) WHERE state = 'PROCESSING'`
})
