import * as SqlClient from "@effect/sql/SqlClient"
import { Effect } from "effect"

/**
 * Cheaper starts of short runs:
 * - Admission counts a tenant's busy slots as its PROCESSING runs plus its other runs that a live
 *   driver still works on, looking each live driver's run up by key: joined, the planner hashed
 *   all of the tenant's runs for every admission, most of a short run's cost once it had a history.
 * - Starting a run registers the starting worker as its driver, for `p_ttl`, when the run is
 *   admitted at once: that worker drives it next, and this saves it a round trip (see `Executor`).
 */
export default Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  yield* sql`
    CREATE OR REPLACE FUNCTION admit_runs(p_tenant text, p_limit integer) RETURNS SETOF uuid LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
    DECLARE
      busy integer;
      admitted uuid;
    BEGIN
      PERFORM pg_advisory_xact_lock(hashtext('workcat:admit:' || p_tenant));
      -- Drivers are few (the live ones of every tenant): look each one's run up by key, rather
      -- than let the planner hash all of the tenant's runs (its history) for every admission.
      SELECT (SELECT count(*) FROM runs WHERE tenant = p_tenant AND state = 'PROCESSING')
           + (SELECT count(DISTINCT d.run_id) FROM run_drivers d
              WHERE d.expires_at > now()
                AND (SELECT r.tenant = p_tenant AND r.state <> 'PROCESSING' FROM runs r WHERE r.id = d.run_id))
      INTO busy;
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
  yield* sql`DROP FUNCTION start_run(uuid, text, text, text, jsonb, integer)`
  yield* sql`
    CREATE FUNCTION start_run(p_id uuid, p_tenant text, p_pipeline text, p_key text, p_input jsonb, p_limit integer, p_worker text, p_ttl interval)
    RETURNS SETOF runs LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
    BEGIN
      INSERT INTO runs (id, tenant, pipeline, run_key, state, input) VALUES (p_id, p_tenant, p_pipeline, p_key, 'QUEUED', p_input)
      ON CONFLICT (tenant, pipeline, run_key) DO NOTHING;
      IF FOUND THEN
        INSERT INTO run_transitions (run_id, from_state, to_state, reason) VALUES (p_id, NULL, 'QUEUED', 'created');
        PERFORM admit_runs(p_tenant, p_limit);
        IF p_worker IS NOT NULL THEN
          INSERT INTO run_drivers (run_id, worker, expires_at)
          SELECT id, p_worker, now() + p_ttl FROM runs WHERE id = p_id AND state = 'PROCESSING';
        END IF;
      END IF;
      RETURN QUERY SELECT * FROM runs WHERE tenant = p_tenant AND pipeline = p_pipeline AND run_key = p_key;
    END $$`
})
