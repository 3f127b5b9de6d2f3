import { NodeContext } from "@effect/platform-node"
import { ConfigProvider, Layer, Redacted } from "effect"
import { createHash, randomBytes } from "node:crypto"
import { inject } from "vitest"
import { ApiTokens } from "../src/ApiTokens.js"
import { AuditLog } from "../src/AuditLog.js"
import { ControlSqlLive, DatabaseUrl } from "../src/Database.js"
import { MasterKeyLive } from "../src/MasterKey.js"
import { TenantId } from "../src/TenantId.js"
import { TenantRegistry } from "../src/TenantRegistry.js"

declare module "vitest" {
  export interface ProvidedContext {
    readonly databaseUrl: string
  }
}

export const masterKey = (seed: string) => createHash("sha256").update(seed).digest("base64")

export const freshTenant = (prefix = "t"): TenantId => TenantId.make(`${prefix}_${randomBytes(5).toString("hex")}`)

/** The control plane against the test database, with a master key derived from `seed`. */
export const controlPlane = (seed = "workcat-test-master-key") =>
  Layer.mergeAll(TenantRegistry.Default, ApiTokens.Default, AuditLog.Default).pipe(
    Layer.provideMerge(Layer.mergeAll(ControlSqlLive, MasterKeyLive)),
    Layer.provideMerge(Layer.succeed(DatabaseUrl, { url: Redacted.make(inject("databaseUrl")), embedded: false })),
    Layer.provideMerge(NodeContext.layer),
    Layer.provide(Layer.setConfigProvider(ConfigProvider.fromMap(new Map([["WORKCAT_MASTER_KEY", masterKey(seed)]])))),
    Layer.fresh
  )
