import * as SqlClient from "@effect/sql/SqlClient"
import { Effect } from "effect"

/**
 * The run ledger's control-plane half: one row per run key (a re-start resumes the same row),
 * and every state transition with its time and reason. Checkpoints of stages and items live in
 * the tenant's schema, next to the data they are about.
 */
export default Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  yield* sql`
    CREATE TABLE runs (
      id          uuid          PRIMARY KEY,
      tenant      text          NOT NULL,
      pipeline    text          NOT NULL,
      run_key     text          NOT NULL,
      state       text          NOT NULL,
      input       jsonb         NOT NULL,
      result      jsonb,
      error       text,
      cost_usd    numeric(14,6) NOT NULL DEFAULT 0,
      created_at  timestamptz   NOT NULL DEFAULT now(),
      queued_at   timestamptz   NOT NULL DEFAULT now(),
      started_at  timestamptz,
      finished_at timestamptz,
      updated_at  timestamptz   NOT NULL DEFAULT now(),
      UNIQUE (tenant, pipeline, run_key)
    )`
  yield* sql`CREATE INDEX runs_active ON runs (state, tenant, queued_at) WHERE state IN ('QUEUED', 'PROCESSING')`
  yield* sql`CREATE INDEX runs_history ON runs (tenant, created_at DESC)`
  yield* sql`
    CREATE TABLE run_transitions (
      id         bigserial   PRIMARY KEY,
      run_id     uuid        NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
      from_state text,
      to_state   text        NOT NULL,
      at         timestamptz NOT NULL DEFAULT now(),
      reason     text        NOT NULL
    )`
  yield* sql`CREATE INDEX run_transitions_run ON run_transitions (run_id, id)`
})
