import * as SqlClient from "@effect/sql/SqlClient"
import { Effect } from "effect"

/** Raw SSO events (pseudonymized), their daily per-app rollup, and rejected input. */
export default Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
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
      PRIMARY KEY (provider, event_id)
    )`
  yield* sql`
    CREATE TABLE user_app_daily (
      user_id    text    NOT NULL,
      day        date    NOT NULL,
      app        text    NOT NULL,
      accesses   integer NOT NULL,
      auth_steps integer NOT NULL,
      PRIMARY KEY (user_id, day, app)
    )`
  yield* sql`CREATE INDEX user_app_daily_day ON user_app_daily (day)`
  yield* sql`
    CREATE TABLE dead_letters (
      id          bigserial   PRIMARY KEY,
      source      text        NOT NULL,
      position    bigint,
      reason      text        NOT NULL,
      payload     text        NOT NULL,
      received_at timestamptz NOT NULL DEFAULT now()
    )`
  // A line re-sent in a re-ingest is one dead letter, not two.
  yield* sql`CREATE UNIQUE INDEX dead_letters_once ON dead_letters (source, position, md5(payload))`
  yield* sql`
    CREATE TABLE hr_events (
      event_id       text        PRIMARY KEY,
      user_id        text        NOT NULL,
      type           text        NOT NULL,
      effective_date date        NOT NULL,
      title          text,
      department     text,
      team           text,
      received_at    timestamptz NOT NULL DEFAULT now()
    )`
  yield* sql`CREATE INDEX hr_events_user ON hr_events (user_id, effective_date)`
  yield* sql`
    CREATE TABLE employees (
      user_id    text        PRIMARY KEY,
      title      text,
      department text,
      team       text,
      hire_date  date,
      status     text        NOT NULL,
      updated_at timestamptz NOT NULL DEFAULT now()
    )`
})
