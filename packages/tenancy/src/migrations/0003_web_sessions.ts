import * as SqlClient from "@effect/sql/SqlClient"
import { Effect } from "effect"

/**
 * Browser sessions of the dashboard, and one-time sign-in links: a random secret stored as a
 * SHA-256 hash, one tenant and role, ended by sign-out, expiry, or the token it was opened with.
 */
export default Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  yield* sql`
    CREATE TABLE web_sessions (
      id          text        PRIMARY KEY,
      kind        text        NOT NULL CHECK (kind IN ('session', 'link')),
      secret_hash text        NOT NULL,
      tenant      text        NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
      role        text        NOT NULL,
      -- Who signed in, as the audit log names them: token:<id>, or oidc:<hash of issuer and subject>.
      actor       text        NOT NULL,
      -- A session opened with an API token ends with the token.
      token_id    text        REFERENCES api_tokens (id) ON DELETE CASCADE,
      created_at  timestamptz NOT NULL DEFAULT now(),
      expires_at  timestamptz NOT NULL,
      ended_at    timestamptz
    )`
  yield* sql`CREATE INDEX web_sessions_expiry ON web_sessions (expires_at)`
})
