import * as SqlClient from "@effect/sql/SqlClient"
import { Effect } from "effect"

/**
 * PostgreSQL up to 14 lets every role create objects in schema `public` (CVE-2018-1058); tenant
 * roles must write nowhere but their own schema. 15 and later revoke it already. Only the schema's
 * owner can revoke it: for another user this is a warning, and creating a tenant refuses until
 * the owner has done it.
 */
export default Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  const [row] = yield* sql<{ exists: boolean }>`SELECT to_regnamespace('public') IS NOT NULL AS exists`
  if (row?.exists === true) yield* sql`REVOKE CREATE ON SCHEMA public FROM PUBLIC`
})
