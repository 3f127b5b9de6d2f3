import * as SqlClient from "@effect/sql/SqlClient"
import { Effect } from "effect"

/** A tenant's secrets other than its keys (its identity provider's client secret, its alert webhooks), each sealed with the master key. */
export default Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  yield* sql`
    CREATE TABLE tenant_secrets (
      tenant     text        NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
      name       text        NOT NULL,
      sealed     text        NOT NULL,
      updated_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (tenant, name)
    )`
})
