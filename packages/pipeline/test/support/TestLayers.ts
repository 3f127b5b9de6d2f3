import { TenantId } from "@workcat/tenancy"
import { ConfigProvider, Layer } from "effect"
import { createHash, randomBytes } from "node:crypto"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { inject } from "vitest"
import { TenantCommandLive } from "../../src/Layers.js"

declare module "vitest" {
  export interface ProvidedContext {
    /** The PostgreSQL every test talks to: `DATABASE_URL`, or a throwaway embedded cluster. */
    readonly databaseUrl: string
  }
}

/** The test database's connection string. */
export const testDatabaseUrl = () => inject("databaseUrl")

/** A fresh tenant id, so tests sharing one database never see each other's data. */
export const freshTenant = (prefix = "t"): TenantId => TenantId.make(`${prefix}_${randomBytes(5).toString("hex")}`)

/** A tenant's key in tests: deterministic, so separately built layers agree on pseudonyms. */
export const testKey = (tenant: string) => createHash("sha256").update(`workcat-test-key:${tenant}`).digest("base64")

/** Configuration as a deployment would set it: the test database and keys for the given tenants. */
export const testConfig = (tenants: ReadonlyArray<TenantId>, extra: Readonly<Record<string, string>> = {}) =>
  Layer.setConfigProvider(
    ConfigProvider.fromMap(
      new Map([
        ["DATABASE_URL", testDatabaseUrl()],
        ["WORKCAT_HOME", join(tmpdir(), "workcat-test-home")],
        ["WORKCAT_TENANTS_FILE", join(tmpdir(), "workcat-test-home", "no-tenants.json")],
        ["WORKCAT_TENANT_KEYS", tenants.map((t) => `${t}:${testKey(t)}`).join(",")],
        ...Object.entries(extra)
      ])
    )
  )

/** Everything the pipeline offers for one tenant, against the test database. */
export const testTenantLayer = (tenant: TenantId) => TenantCommandLive(tenant).pipe(Layer.provide(testConfig([tenant])))
