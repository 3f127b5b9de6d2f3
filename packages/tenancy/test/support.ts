import { NodeContext } from "@effect/platform-node"
import * as Migrator from "@effect/sql/Migrator"
import * as SqlClient from "@effect/sql/SqlClient"
import { ConfigProvider, Effect, Layer, Redacted } from "effect"
import { createHash, randomBytes } from "node:crypto"
import { inject } from "vitest"
import { ApiTokens } from "../src/ApiTokens.js"
import { AuditLog } from "../src/AuditLog.js"
import { ControlSqlLive, DatabaseUrl } from "../src/Database.js"
import { MasterKeyLive } from "../src/MasterKey.js"
import { TenantMigrations } from "../src/Migrate.js"
import { TenantId } from "../src/TenantId.js"
import { TenantRegistry } from "../src/TenantRegistry.js"

declare module "vitest" {
  export interface ProvidedContext {
    readonly databaseUrl: string
  }
}

export const masterKey = (seed: string) => createHash("sha256").update(seed).digest("base64")

export const freshTenant = (prefix = "t"): TenantId => TenantId.make(`${prefix}_${randomBytes(5).toString("hex")}`)

/**
 * Tenant schemas as tenancy alone needs them (the pipeline's migrations add its tables): the
 * `tenant_state` a tenant's layer reads its key version from.
 */
export const tenancyOnlyMigrations = Migrator.fromRecord({
  "0001_tenant_state": Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    yield* sql`CREATE TABLE tenant_state (singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton), key_version integer NOT NULL)`
    yield* sql`INSERT INTO tenant_state (key_version) VALUES (0)`
  })
})

/** The control plane against the test database, with a master key derived from `seed`. */
export const controlPlane = (seed = "workcat-test-master-key", migrations: Migrator.Loader = tenancyOnlyMigrations) =>
  Layer.mergeAll(TenantRegistry.Default, ApiTokens.Default, AuditLog.Default).pipe(
    Layer.provideMerge(Layer.mergeAll(ControlSqlLive, MasterKeyLive, TenantMigrations.layer(migrations))),
    Layer.provideMerge(Layer.succeed(DatabaseUrl, { url: Redacted.make(inject("databaseUrl")), embedded: false })),
    Layer.provideMerge(NodeContext.layer),
    Layer.provide(Layer.setConfigProvider(ConfigProvider.fromMap(new Map([["WORKCAT_MASTER_KEY", masterKey(seed)]])))),
    Layer.fresh
  )
