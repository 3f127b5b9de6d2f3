import { describe, expect, it } from "@effect/vitest"
import * as Migrator from "@effect/sql/Migrator"
import * as SqlClient from "@effect/sql/SqlClient"
import { Effect } from "effect"
import { ControlSql } from "../src/Database.js"
import { tenantRole, tenantSchema } from "../src/TenantId.js"
import { TenantRegistry } from "../src/TenantRegistry.js"
import { controlPlane, freshTenant } from "./support.js"

/** Tenant migrations whose second fails after the first created a table. */
const failing = Migrator.fromRecord({
  "0001_table": Effect.flatMap(SqlClient.SqlClient, (sql) => sql`CREATE TABLE kept (v text)`),
  "0002_broken": Effect.flatMap(SqlClient.SqlClient, (sql) => sql`ALTER TABLE no_such_table ADD COLUMN v text`)
})

describe("creating a tenant migrates its schema", () => {
  it.layer(controlPlane(undefined, failing), { timeout: 60_000 })((it) => {
    it.effect("in the same transaction: when a migration fails, no tenant is left, nor its role or schema", () =>
      Effect.gen(function* () {
        const tenant = freshTenant("mig_fail")
        const registry = yield* TenantRegistry
        const exit = yield* Effect.exit(registry.create(tenant))
        expect(exit._tag).toBe("Failure")
        expect((yield* registry.get(tenant).pipe(Effect.flip))._tag).toBe("TenantNotFound")
        const sql = yield* ControlSql
        const [left] = yield* sql<{ schemas: number; roles: number }>`
          SELECT (SELECT count(*)::int FROM pg_namespace WHERE nspname = ${tenantSchema(tenant)}) AS schemas,
                 (SELECT count(*)::int FROM pg_roles WHERE rolname = ${tenantRole(tenant)}) AS roles`
        expect(left).toEqual({ schemas: 0, roles: 0 })
      }))
  })
})
