import * as SqlClient from "@effect/sql/SqlClient"
import { Effect } from "effect"

/**
 * Alerts raised, once per tenant, condition and day (UTC), and each delivery to the tenant's
 * webhooks (Slack-compatible, PagerDuty Events v2): how many attempts, and the last answer.
 */
export default Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  yield* sql`
    CREATE TABLE alerts (
      id        bigserial   PRIMARY KEY,
      tenant    text        NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
      condition text        NOT NULL,
      day       date        NOT NULL,
      severity  text        NOT NULL,
      summary   text        NOT NULL,
      details   jsonb       NOT NULL,
      raised_at timestamptz NOT NULL DEFAULT now(),
      UNIQUE (tenant, condition, day)
    )`
  yield* sql`
    CREATE TABLE alert_deliveries (
      alert_id     bigint      NOT NULL REFERENCES alerts (id) ON DELETE CASCADE,
      target       text        NOT NULL,
      -- pending: being delivered (or its process died doing so); a worker's next check takes it up.
      status       text        NOT NULL CHECK (status IN ('pending', 'sent', 'failed')),
      attempts     integer     NOT NULL,
      last_answer  text,
      delivered_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (alert_id, target)
    )`
})
