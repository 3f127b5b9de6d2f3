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
  // Admission in one round trip: serialized per tenant by an advisory lock, and each statement
  // of the function sees the other admissions that committed before it got the lock.
  yield* sql`
    CREATE FUNCTION admit_runs(p_tenant text, p_limit integer) RETURNS SETOF uuid LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
    DECLARE
      processing integer;
      admitted uuid;
    BEGIN
      PERFORM pg_advisory_xact_lock(hashtext('workcat:admit:' || p_tenant));
      SELECT count(*) INTO processing FROM runs WHERE tenant = p_tenant AND state = 'PROCESSING';
      FOR admitted IN
        UPDATE runs SET state = 'PROCESSING', started_at = coalesce(started_at, now()), updated_at = now()
        WHERE id IN (
          SELECT id FROM runs WHERE tenant = p_tenant AND state = 'QUEUED'
          ORDER BY queued_at, id LIMIT greatest(0, p_limit - processing)
        )
        RETURNING id
      LOOP
        processing := processing + 1;
        INSERT INTO run_transitions (run_id, from_state, to_state, reason)
        VALUES (admitted, 'QUEUED', 'PROCESSING', format('admitted (%s of at most %s processing)', processing, p_limit));
        RETURN NEXT admitted;
      END LOOP;
    END $$`
})
