import * as SqlClient from "@effect/sql/SqlClient"
import { Effect } from "effect"

/**
 * Raw events partitioned by UTC day (`sso_events_pYYYYMMDD`), so retention drops whole days.
 * PostgreSQL requires the partition key in the primary key: an event is (provider, event_id,
 * occurred_at), and a redelivery carries the same time, so it is still stored once.
 * `ensure_sso_partitions` creates the days an intake is about to write (run as the tenant's
 * role, which owns the schema). `rollup_dirty` lists the days whose rollup must be recomputed.
 * Dead letters gain `item`: the record's index inside its input
 * value (a page or a hook delivery holds several), so each refused record is its own letter.
 */
export default Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  yield* sql`ALTER TABLE sso_events RENAME TO sso_events_unpartitioned`
  yield* sql`ALTER TABLE sso_events_unpartitioned RENAME CONSTRAINT sso_events_pkey TO sso_events_unpartitioned_pkey`
  yield* sql`
    CREATE TABLE sso_events (
      provider     text        NOT NULL,
      event_id     text        NOT NULL,
      event_type   text        NOT NULL,
      occurred_at  timestamptz NOT NULL,
      user_id      text,
      app          text,
      app_name     text,
      outcome      text        NOT NULL,
      auth_steps   smallint    NOT NULL,
      session_id   text,
      country      text,
      ingested_at  timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (provider, event_id, occurred_at)
    ) PARTITION BY RANGE (occurred_at)`
  yield* sql`
    CREATE FUNCTION ensure_sso_partitions(days date[]) RETURNS integer LANGUAGE plpgsql AS $$
    DECLARE
      d date;
      created integer := 0;
    BEGIN
      FOREACH d IN ARRAY days LOOP
        IF to_regclass(format('sso_events_p%s', to_char(d, 'YYYYMMDD'))) IS NULL THEN
          BEGIN
            EXECUTE format(
              'CREATE TABLE %I PARTITION OF sso_events FOR VALUES FROM (%L) TO (%L)',
              format('sso_events_p%s', to_char(d, 'YYYYMMDD')),
              (d::timestamp AT TIME ZONE 'UTC'), ((d + 1)::timestamp AT TIME ZONE 'UTC'));
            created := created + 1;
          EXCEPTION WHEN duplicate_table THEN
            NULL; -- another intake created it meanwhile
          END;
        END IF;
      END LOOP;
      RETURN created;
    END $$`
  yield* sql`
    SELECT ensure_sso_partitions(array_agg(DISTINCT (occurred_at AT TIME ZONE 'UTC')::date))
    FROM sso_events_unpartitioned HAVING count(*) > 0`
  yield* sql`INSERT INTO sso_events SELECT * FROM sso_events_unpartitioned`
  yield* sql`DROP TABLE sso_events_unpartitioned`
  // Days whose rollup is behind their raw events (see EventStore.settle).
  yield* sql`CREATE TABLE rollup_dirty (day date PRIMARY KEY, marked_at timestamptz NOT NULL DEFAULT now())`
  yield* sql`ALTER TABLE dead_letters ADD COLUMN item integer`
  yield* sql`DROP INDEX dead_letters_once`
  yield* sql`CREATE UNIQUE INDEX dead_letters_once ON dead_letters (source, position, coalesce(item, -1), md5(payload))`
})
