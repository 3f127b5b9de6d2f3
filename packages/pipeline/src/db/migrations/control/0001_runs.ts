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
  // Start a run of a key in one round trip: create it (or find it) and admit queued runs.
  yield* sql`
    CREATE FUNCTION start_run(p_id uuid, p_tenant text, p_pipeline text, p_key text, p_input jsonb, p_limit integer)
    RETURNS SETOF runs LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
    BEGIN
      INSERT INTO runs (id, tenant, pipeline, run_key, state, input) VALUES (p_id, p_tenant, p_pipeline, p_key, 'QUEUED', p_input)
      ON CONFLICT (tenant, pipeline, run_key) DO NOTHING;
      IF FOUND THEN
        INSERT INTO run_transitions (run_id, from_state, to_state, reason) VALUES (p_id, NULL, 'QUEUED', 'created');
        PERFORM admit_runs(p_tenant, p_limit);
      END IF;
      RETURN QUERY SELECT * FROM runs WHERE tenant = p_tenant AND pipeline = p_pipeline AND run_key = p_key;
    END $$`
  // End a processing run and admit the tenant's next queued runs, in one round trip. Returns
  // nothing when the run was not PROCESSING any more (another worker ended it, or a cancel).
  yield* sql`
    CREATE FUNCTION finish_run(p_id uuid, p_to text, p_reason text, p_result jsonb, p_error text, p_limit integer)
    RETURNS SETOF runs LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
    DECLARE
      ended runs;
    BEGIN
      UPDATE runs SET state = p_to, updated_at = now(), finished_at = now(), result = coalesce(p_result, result), error = p_error
      WHERE id = p_id AND state = 'PROCESSING' RETURNING * INTO ended;
      IF NOT FOUND THEN RETURN; END IF;
      INSERT INTO run_transitions (run_id, from_state, to_state, reason) VALUES (p_id, 'PROCESSING', p_to, p_reason);
      PERFORM admit_runs(ended.tenant, p_limit);
      RETURN NEXT ended;
    END $$`
})
