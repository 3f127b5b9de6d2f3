import * as SqlClient from "@effect/sql/SqlClient"
import { Effect } from "effect"

/** Operators' tokens and sessions belong to no tenant; every other one to exactly one. */
export default Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  for (const table of ["api_tokens", "web_sessions"]) {
    yield* sql`ALTER TABLE ${sql(table)} ALTER COLUMN tenant DROP NOT NULL`
    yield* sql`ALTER TABLE ${sql(table)} ADD CONSTRAINT ${sql(`${table}_operator_has_no_tenant`)} CHECK ((role = 'operator') = (tenant IS NULL))`
  }
})
