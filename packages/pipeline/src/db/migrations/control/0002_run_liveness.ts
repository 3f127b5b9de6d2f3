import * as SqlClient from "@effect/sql/SqlClient"
import { Effect } from "effect"

/**
 * Liveness of run drivers, restarts held from admission, and inputs that change under a run.
 *
 * - `run_drivers`: one row per worker driving a run, renewed by its heartbeat and deleted when its
 *   body has stopped. A run whose drivers all expired was abandoned (its process died); a run
 *   keeps its tenant's slot while a driver still runs its body, even after it ended (a cancelled
 *   body may be finishing a transaction).
 * - `runs.held_until`: a restart (retry, or a STALE run started again) queues the run first and
 *   resets its checkpoints after; admission leaves it alone meanwhile. Should the restarting
 *   process die, the hold lapses and the run is admitted as it is.
 * - `runs.inputs_changed_at`: intake changed the inputs of a run that was not finished (or may
 *   resume from checkpoints taken before); it ends STALE instead of READY.
 */
export default Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  yield* sql`ALTER TABLE runs ADD COLUMN held_until timestamptz, ADD COLUMN inputs_changed_at timestamptz`
  yield* sql`
    CREATE TABLE run_drivers (
      run_id     uuid        NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
      worker     text        NOT NULL,
      expires_at timestamptz NOT NULL,
      PRIMARY KEY (run_id, worker)
    )`
  // A tenant's slots are taken by processing runs and by runs a live driver still works on.
  yield* sql`
    CREATE OR REPLACE FUNCTION admit_runs(p_tenant text, p_limit integer) RETURNS SETOF uuid LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
    DECLARE
      busy integer;
      admitted uuid;
    BEGIN
      PERFORM pg_advisory_xact_lock(hashtext('workcat:admit:' || p_tenant));
      SELECT count(*) INTO busy FROM (
        SELECT id FROM runs WHERE tenant = p_tenant AND state = 'PROCESSING'
        UNION
        SELECT r.id FROM run_drivers d JOIN runs r ON r.id = d.run_id WHERE r.tenant = p_tenant AND d.expires_at > now()
      ) taken;
      FOR admitted IN
        UPDATE runs SET state = 'PROCESSING', started_at = coalesce(started_at, now()), updated_at = now()
        WHERE id IN (
          SELECT id FROM runs WHERE tenant = p_tenant AND state = 'QUEUED' AND (held_until IS NULL OR held_until <= now())
          ORDER BY queued_at, id LIMIT greatest(0, p_limit - busy)
        )
        RETURNING id
      LOOP
        busy := busy + 1;
        INSERT INTO run_transitions (run_id, from_state, to_state, reason)
        VALUES (admitted, 'QUEUED', 'PROCESSING', format('admitted (%s of at most %s processing)', busy, p_limit));
        RETURN NEXT admitted;
      END LOOP;
    END $$`
  // Ending a run also ends the calling worker's driving of it, so the admission it does counts
  // only the other drivers. A run whose inputs changed while it ran becomes STALE, not READY.
  yield* sql`DROP FUNCTION finish_run(uuid, text, text, jsonb, text, integer)`
  yield* sql`
    CREATE FUNCTION finish_run(p_id uuid, p_to text, p_reason text, p_result jsonb, p_error text, p_limit integer, p_worker text)
    RETURNS SETOF runs LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
    DECLARE
      ended runs;
    BEGIN
      DELETE FROM run_drivers WHERE run_id = p_id AND worker = p_worker;
      UPDATE runs SET state = p_to, updated_at = now(), finished_at = now(), result = coalesce(p_result, result), error = p_error, held_until = NULL
      WHERE id = p_id AND state = 'PROCESSING' RETURNING * INTO ended;
      IF NOT FOUND THEN RETURN; END IF;
      INSERT INTO run_transitions (run_id, from_state, to_state, reason) VALUES (p_id, 'PROCESSING', p_to, p_reason);
      IF p_to = 'READY' AND ended.inputs_changed_at IS NOT NULL THEN
        UPDATE runs SET state = 'STALE' WHERE id = p_id RETURNING * INTO ended;
        INSERT INTO run_transitions (run_id, from_state, to_state, reason)
        VALUES (p_id, 'READY', 'STALE', format('its inputs changed while it ran (at %s)', ended.inputs_changed_at));
      END IF;
      PERFORM admit_runs(ended.tenant, p_limit);
      RETURN NEXT ended;
    END $$`
})
