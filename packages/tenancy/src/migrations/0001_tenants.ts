import * as SqlClient from "@effect/sql/SqlClient"
import { Effect } from "effect"

/** The tenant registry, API tokens, and the append-only audit log. */
export default Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  yield* sql`
    CREATE TABLE tenants (
      id          text        PRIMARY KEY,
      settings    jsonb       NOT NULL,
      -- Pseudonymization keys, oldest first, each sealed with the master key.
      keys        jsonb       NOT NULL,
      -- The password of the tenant's database role, sealed with the master key.
      db_password text        NOT NULL,
      created_at  timestamptz NOT NULL DEFAULT now(),
      updated_at  timestamptz NOT NULL DEFAULT now()
    )`
  yield* sql`
    CREATE TABLE api_tokens (
      id           text        PRIMARY KEY,
      tenant       text        NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
      role         text        NOT NULL,
      secret_hash  text        NOT NULL,
      description  text,
      created_at   timestamptz NOT NULL DEFAULT now(),
      expires_at   timestamptz,
      revoked_at   timestamptz,
      last_used_at timestamptz
    )`
  yield* sql`CREATE INDEX api_tokens_tenant ON api_tokens (tenant)`
  yield* sql`
    CREATE TABLE audit_log (
      id      bigserial   PRIMARY KEY,
      tenant  text        NOT NULL,
      at      timestamptz NOT NULL DEFAULT now(),
      actor   text        NOT NULL,
      role    text,
      action  text        NOT NULL,
      details jsonb       NOT NULL DEFAULT '{}',
      origin  text
    )`
  yield* sql`CREATE INDEX audit_log_tenant ON audit_log (tenant, id DESC)`
  yield* sql`
    CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      RAISE EXCEPTION 'audit_log is append-only';
    END $$`
  yield* sql`
    CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()`
  yield* sql`
    CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only()`
})
