import { describe, expect, it } from "@effect/vitest"
import * as SqlClient from "@effect/sql/SqlClient"
import { Cause, Effect, Layer, Redacted } from "effect"
import Pg from "pg"
import { ControlSql, DatabaseUrl } from "../src/Database.js"
import { MasterKey } from "../src/MasterKey.js"
import * as Tenant from "../src/Tenant.js"
import { tenantRole, tenantSchema } from "../src/TenantId.js"
import { sealContext, TenantRegistry } from "../src/TenantRegistry.js"
import { controlPlane, freshTenant } from "./support.js"

const a = freshTenant("iso_a")
const b = freshTenant("iso_b")

/** A raw connection as a tenant's role, to ask PostgreSQL itself what that role may do. */
const asTenantRole = (tenant: typeof a) =>
  Effect.gen(function* () {
    const record = yield* Effect.flatMap(TenantRegistry, (r) => r.get(tenant))
    const password = yield* Effect.flatMap(MasterKey, (box) => box.open(record.sealedDbPassword, sealContext.dbPassword(tenant)))
    const { url } = yield* DatabaseUrl
    const target = new URL(Redacted.value(url))
    target.username = tenantRole(tenant)
    target.password = Buffer.from(Redacted.value(password)).toString("utf8")
    return yield* Effect.acquireRelease(
      Effect.promise(async () => {
        const client = new Pg.Client(target.toString())
        await client.connect()
        return client
      }),
      (client) => Effect.promise(() => client.end())
    )
  })

const denied = (client: Pg.Client, query: string) =>
  Effect.promise(() => client.query(query).then(() => "allowed", (e: Error) => e.message))

describe("tenant isolation in the database", () => {
  it.layer(controlPlane(), { timeout: 60_000 })((it) => {
    it.scoped("a tenant's role reads its own schema only: not another tenant's, not the control plane", () =>
      Effect.gen(function* () {
        const registry = yield* TenantRegistry
        yield* registry.create(a)
        yield* registry.create(b)
        // Put a table with a row into B's schema, as B.
        yield* Effect.gen(function* () {
          const sql = yield* SqlClient.SqlClient
          yield* sql`CREATE TABLE secrets (v text)`
          yield* sql`INSERT INTO secrets VALUES ('of b')`
        }).pipe(Effect.provide(Tenant.layer(b)))

        const clientA = yield* asTenantRole(a)
        expect(yield* denied(clientA, `SELECT * FROM ${tenantSchema(b)}.secrets`)).toMatch(/permission denied for schema/)
        expect(yield* denied(clientA, "SELECT * FROM workcat.tenants")).toMatch(/permission denied for schema/)
        expect(yield* denied(clientA, "SELECT * FROM workcat.api_tokens")).toMatch(/permission denied for schema/)
        expect(yield* denied(clientA, `SET ROLE ${tenantRole(b)}`)).toMatch(/permission denied to set role/)
        expect(yield* denied(clientA, "CREATE TABLE public.leak (v text)")).toMatch(/permission denied for schema public/)
        expect(yield* denied(clientA, `CREATE TABLE ${tenantSchema(a)}.mine (v text)`)).toBe("allowed")

        const clientB = yield* asTenantRole(b)
        const rows = yield* Effect.promise(() => clientB.query(`SELECT v FROM ${tenantSchema(b)}.secrets`))
        expect(rows.rows).toEqual([{ v: "of b" }])
      }))

    it.scoped("a tenant layer's pool logs in as the tenant's role, bound to its schema", () =>
      Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        const [who] = yield* sql<{ user: string; schema: string }>`SELECT current_user AS user, current_schema() AS schema`
        expect(who).toEqual({ user: tenantRole(a), schema: tenantSchema(a) })
      }).pipe(Effect.provide(Tenant.layer(a))))

    it.scoped("removing a tenant drops its schema and role but keeps the audit log", () =>
      Effect.gen(function* () {
        const registry = yield* TenantRegistry
        const control = yield* ControlSql
        const gone = freshTenant("iso_gone")
        yield* registry.create(gone)
        yield* control`INSERT INTO audit_log (tenant, actor, action) VALUES (${gone}, 'test', 'tenant.create')`
        yield* registry.remove(gone)
        const [left] = yield* control<{ schemas: number; roles: number; audit: number }>`
          SELECT (SELECT count(*)::int FROM pg_namespace WHERE nspname = ${tenantSchema(gone)}) AS schemas,
                 (SELECT count(*)::int FROM pg_roles WHERE rolname = ${tenantRole(gone)}) AS roles,
                 (SELECT count(*)::int FROM audit_log WHERE tenant = ${gone}) AS audit`
        expect(left).toEqual({ schemas: 0, roles: 0, audit: 1 })
        expect((yield* registry.get(gone).pipe(Effect.flip))._tag).toBe("TenantNotFound")
      }))
  })
})

describe("secrets at rest", () => {
  const t = freshTenant("sec")
  it.layer(controlPlane(), { timeout: 60_000 })((it) => {
    it.scoped("keys and passwords are stored sealed, bound to their tenant and purpose", () =>
      Effect.gen(function* () {
        const registry = yield* TenantRegistry
        yield* registry.create(t)
        const record = yield* registry.get(t)
        const box = yield* MasterKey
        const key = yield* box.open(record.sealedKeys[0]!, sealContext.key(t, 0))
        expect(Redacted.value(key)).toHaveLength(32)
        const control = yield* ControlSql
        const [row] = yield* control<{ row: string }>`SELECT row_to_json(t)::text AS row FROM tenants t WHERE id = ${t}`
        expect(row!.row).not.toContain(Buffer.from(Redacted.value(key)).toString("base64"))
        expect(row!.row).not.toContain(Buffer.from(Redacted.value(key)).toString("hex"))
        // A sealed key copied to another tenant, or used for another purpose, does not open.
        const misuse = yield* Effect.exit(box.open(record.sealedKeys[0]!, sealContext.key("other", 0)))
        if (misuse._tag !== "Failure") return expect.fail("a sealed key opened for another tenant")
        expect(Cause.pretty(misuse.cause)).not.toContain(record.sealedKeys[0]!.split(":")[3]!)
      }))
  })

  it.layer(controlPlane("another master key"), { timeout: 60_000 })((it) => {
    it.scoped("a wrong master key cannot open a tenant, and says so without leaking", () =>
      Effect.gen(function* () {
        const exit = yield* Effect.exit(Layer.build(Tenant.layer(t)))
        if (exit._tag !== "Failure") return expect.fail("a wrong master key opened the tenant")
        expect(Cause.pretty(exit.cause)).toContain("wrong WORKCAT_MASTER_KEY")
      }))
  })
})
