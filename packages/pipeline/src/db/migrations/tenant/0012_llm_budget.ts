import * as SqlClient from "@effect/sql/SqlClient"
import { Effect } from "effect"

/**
 * The month's LLM spend kept as one row per month (what `LlmBudget` locks to reserve and settle
 * across processes), and the reservations of calls in flight: a call's estimated cost is held
 * here from before its request until its cost is recorded, and a process that dies leaves a
 * reservation that expires.
 */
export default Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  yield* sql`
    CREATE TABLE llm_budget (
      month     text           PRIMARY KEY,
      spent_usd numeric(20,12) NOT NULL,
      warned    boolean        NOT NULL DEFAULT false
    )`
  yield* sql`
    CREATE TABLE llm_reservations (
      id         bigserial      PRIMARY KEY,
      usd        numeric(20,12) NOT NULL,
      expires_at timestamptz    NOT NULL
    )`
})
