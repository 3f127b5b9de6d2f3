import * as SqlClient from "@effect/sql/SqlClient"
import { Effect } from "effect"

/**
 * For tenants whose events also go to BigQuery (`warehouse/bigquery/`): which export job took each
 * raw event (null: not exported yet; the export adds a partial index of those), the export jobs
 * (pending: claimed, loaded: in BigQuery, done: its days' rollup recomputed there), and what each
 * BigQuery query job billed (the tenant's cost ledger beside `llm_calls`).
 */
export default Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  yield* sql`ALTER TABLE sso_events ADD COLUMN exported_job text`
  yield* sql`
    CREATE TABLE bq_exports (
      job_id     text        PRIMARY KEY,
      days       date[]      NOT NULL,
      rows       integer     NOT NULL,
      state      text        NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'loaded', 'done')),
      created_at timestamptz NOT NULL DEFAULT now(),
      done_at    timestamptz
    )`
  yield* sql`CREATE INDEX bq_exports_open ON bq_exports (created_at) WHERE state <> 'done'`
  yield* sql`
    CREATE TABLE warehouse_queries (
      id           bigserial   PRIMARY KEY,
      at           timestamptz NOT NULL DEFAULT now(),
      job_id       text        NOT NULL,
      operation    text        NOT NULL,
      bytes_billed bigint      NOT NULL,
      cost_usd     numeric(14, 6) NOT NULL
    )`
  yield* sql`CREATE INDEX warehouse_queries_at ON warehouse_queries (at)`
})
