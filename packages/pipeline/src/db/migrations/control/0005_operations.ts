import * as SqlClient from "@effect/sql/SqlClient"
import { Effect } from "effect"

/**
 * What operators see of every tenant without opening any tenant's schema, and without a person
 * in it: intake per tenant, hour and source (records accepted, duplicated and refused, refusals
 * by kind of reason, the newest event's time), and the weekly check's accuracy samples
 * (`workcat run validate`). Tenant removal deletes a tenant's rows.
 */
export default Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  yield* sql`
    CREATE TABLE intake_hours (
      tenant          text        NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
      hour            timestamptz NOT NULL,
      source          text        NOT NULL CHECK (source IN ('sso', 'hr')),
      accepted        bigint      NOT NULL,
      duplicates      bigint      NOT NULL,
      rejected        bigint      NOT NULL,
      reasons         jsonb       NOT NULL DEFAULT '{}',
      newest_event_at timestamptz,
      updated_at      timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (tenant, hour, source)
    )`
  yield* sql`
    CREATE TABLE validations (
      run_id       uuid             PRIMARY KEY,
      tenant       text             NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
      validated_at timestamptz      NOT NULL DEFAULT now(),
      sampled      integer          NOT NULL,
      judged       integer          NOT NULL,
      agreed       integer          NOT NULL,
      accuracy     double precision,
      by_category  jsonb            NOT NULL
    )`
  yield* sql`CREATE INDEX validations_tenant ON validations (tenant, validated_at DESC)`
})
