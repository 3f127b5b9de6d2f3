import * as SqlClient from "@effect/sql/SqlClient"
import { Effect } from "effect"

/**
 * Dead letters keep no person readable: the refused record is sealed with the tenant's key
 * (`sealed`, AES-256-GCM, under key version `key_version`), identified by its keyed hash, and linked
 * to the pseudonyms of the people it names (`dead_letter_people`: users, and HR employee-id
 * hashes), so forget finds them. Letters
 * stored before this kept redacted text, which pattern matching cannot make safe: their text is
 * dropped here (they keep source, position and reason, and expire with the tenant's retention).
 * HR records gain the manager (a pseudonym, or the keyed hash of an employee id) and the person's
 * own employee id hash, which other records' managers name.
 */
export default Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  // The key version the tenant's data is under (a key rotation moves it). Made here, by the first
  // migration that reads it, and only if missing: builds before migrations ran at deploy time made
  // it when opening the tenant, before migrating, so a schema migrated by one has it already.
  yield* sql`
    CREATE TABLE IF NOT EXISTS tenant_state (
      singleton   boolean PRIMARY KEY DEFAULT true CHECK (singleton),
      key_version integer NOT NULL
    )`
  yield* sql`INSERT INTO tenant_state (key_version) VALUES (0) ON CONFLICT DO NOTHING`
  yield* sql`ALTER TABLE dead_letters RENAME TO dead_letters_redacted`
  yield* sql`DROP INDEX dead_letters_once`
  yield* sql`
    CREATE TABLE dead_letters (
      id          bigserial   PRIMARY KEY,
      intake      text        NOT NULL,
      format      text,
      source      text        NOT NULL,
      position    bigint,
      item        integer,
      reason      text        NOT NULL,
      record_hash text        NOT NULL,
      sealed      text,
      key_version integer     NOT NULL,
      received_at timestamptz NOT NULL DEFAULT now(),
      -- When a replay last found the record refused again (a replay removes the letters it did not).
      replayed_at timestamptz,
      -- HR snapshot rows: the day they described, which a replay reads them as of again.
      as_of       date,
      -- The record names more people than are linked below: any forget deletes it.
      names_many  boolean     NOT NULL DEFAULT false
    )`
  // The same record from the same place is one letter, however often it is sent.
  yield* sql`CREATE UNIQUE INDEX dead_letters_once ON dead_letters (source, coalesce(position, -1), record_hash)`
  yield* sql`CREATE INDEX dead_letters_received ON dead_letters (received_at)`
  yield* sql`
    INSERT INTO dead_letters (intake, source, position, item, reason, record_hash, key_version, received_at)
    SELECT 'unknown', source, position, item, reason, 'legacy_' || id, (SELECT key_version FROM tenant_state), received_at
    FROM dead_letters_redacted`
  yield* sql`DROP TABLE dead_letters_redacted`
  yield* sql`
    CREATE TABLE dead_letter_people (
      letter_id bigint NOT NULL REFERENCES dead_letters (id) ON DELETE CASCADE,
      user_id   text   NOT NULL,
      PRIMARY KEY (user_id, letter_id)
    )`
  yield* sql`CREATE INDEX dead_letter_people_letter ON dead_letter_people (letter_id)`
  yield* sql`CREATE INDEX dead_letters_names_many ON dead_letters (id) WHERE names_many`
  yield* sql`ALTER TABLE hr_events ADD COLUMN manager_id text, ADD COLUMN employee_ref text`
  yield* sql`ALTER TABLE employees ADD COLUMN manager_id text, ADD COLUMN employee_ref text`
  yield* sql`CREATE INDEX employees_employee_ref ON employees (employee_ref)`
})
