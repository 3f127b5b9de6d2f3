import * as Reactivity from "@effect/experimental/Reactivity"
import * as SqlClient from "@effect/sql/SqlClient"
import { Config, Context, Effect, Layer, type Redacted } from "effect"
import { makeSchemaClient } from "./Database.js"
import { type TenantId, tenantSchema } from "./TenantId.js"
import { TenantRegistry } from "./TenantRegistry.js"

/** The tenant the current program runs for. Pipeline code never takes a tenant id as a free SQL parameter. */
export interface TenantContext {
  readonly id: TenantId
  /** The PostgreSQL schema holding the tenant's data. */
  readonly schema: string
  /** The key of the tenant's pseudonyms (HMAC-SHA256). */
  readonly key: Redacted.Redacted<Uint8Array>
}

export class CurrentTenant extends Context.Tag("workcat/CurrentTenant")<CurrentTenant, TenantContext>() {}

/**
 * Everything tenant-specific, as layers: the tenant's identity and key, and a `SqlClient` whose
 * connections resolve table names in the tenant's own schema only.
 */
export const layer = (id: TenantId) =>
  Layer.scopedContext(
    Effect.gen(function* () {
      const registry = yield* TenantRegistry
      const key = yield* registry.key(id)
      const maxConnections = yield* Config.integer("WORKCAT_TENANT_POOL_SIZE").pipe(Config.withDefault(6))
      const schema = tenantSchema(id)
      const sql = yield* makeSchemaClient({ schema, maxConnections, applicationName: `workcat-${id}` })
      return Context.make(CurrentTenant, { id, schema, key }).pipe(Context.add(SqlClient.SqlClient, sql))
    }).pipe(Effect.provide(Reactivity.layer))
  )
