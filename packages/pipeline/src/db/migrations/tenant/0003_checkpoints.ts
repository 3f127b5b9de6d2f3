import * as SqlClient from "@effect/sql/SqlClient"
import { Effect } from "effect"

/**
 * The run ledger's tenant half: each stage's checkpointed output, and each fan-out item with its
 * lease and checkpointed result. They hold per-person data, so they live in the tenant's schema.
 */
export default Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  yield* sql`
    CREATE TABLE run_stages (
      run_id           uuid        NOT NULL,
      stage            text        NOT NULL,
      ordinal          integer     NOT NULL,
      kind             text        NOT NULL,
      state            text        NOT NULL,
      result           jsonb,
      error            text,
      lease_owner      text,
      lease_expires_at timestamptz,
      started_at       timestamptz NOT NULL DEFAULT now(),
      finished_at      timestamptz,
      PRIMARY KEY (run_id, stage)
    )`
  yield* sql`
    CREATE TABLE run_items (
      run_id           uuid        NOT NULL,
      stage            text        NOT NULL,
      item_key         text        NOT NULL,
      state            text        NOT NULL,
      payload          jsonb       NOT NULL,
      result           jsonb,
      error            text,
      attempts         integer     NOT NULL DEFAULT 0,
      lease_owner      text,
      lease_expires_at timestamptz,
      updated_at       timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (run_id, stage, item_key)
    )`
  // No index on lease_owner: every item of a worker shares one, and the planner would prefer it
  // to the primary key for a single item's update, scanning all of them.
  yield* sql`CREATE INDEX run_items_claimable ON run_items (run_id, stage, state, item_key)`
})
