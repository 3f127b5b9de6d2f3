import * as SqlClient from "@effect/sql/SqlClient"
import { makePseudonyms, type Pseudonyms } from "@workcat/core"
import { Config, Context, Effect, Layer, Redacted } from "effect"
import { assertSchema, Bulk, DatabaseUrl, makeSchemaPool } from "./Database.js"
import { type LetterBox, makeLetterBox } from "./LetterBox.js"
import { MasterKey } from "./MasterKey.js"
import { checkTenantSchema, runMigrations, schemaAhead, TENANT_MIGRATIONS_TABLE, TenantMigrations } from "./Migrate.js"
import { type TenantId, tenantRole, tenantSchema } from "./TenantId.js"
import { sealContext, TenantRegistry } from "./TenantRegistry.js"
import type { TenantSettings } from "./TenantSettings.js"

/** The tenant the current program runs for. Pipeline code never takes a tenant id as a free SQL parameter. */
export interface TenantContext {
  readonly id: TenantId
  /** The PostgreSQL schema holding the tenant's data. */
  readonly schema: string
  readonly settings: TenantSettings
  /** The key version the tenant's stored pseudonyms are under. */
  readonly keyVersion: number
  /** The registry's `revision` of the tenant when this context was read (see `TenantRecord`). */
  readonly revision: string
  /** The tenant's keyed hashes; the keys themselves never leave this package. */
  readonly pseudonyms: Pseudonyms
  /** Seals and opens dead letters: `current` seals, `open` takes the version a letter was sealed under. */
  readonly letters: { readonly current: LetterBox; readonly open: (sealed: string, version: number) => Effect.Effect<string> }
}

export class CurrentTenant extends Context.Tag("workcat/CurrentTenant")<CurrentTenant, TenantContext>() {}

/**
 * `tenant_state` records which key version the tenant's data is under; a key rotation moves it
 * in the same transaction that re-keys the data. The tenant migrations create it (and its one row).
 */
const keyVersion = (sql: SqlClient.SqlClient) =>
  sql<{ keyVersion: number }>`SELECT key_version AS "keyVersion" FROM tenant_state`.pipe(
    Effect.flatMap(([row]) => (row === undefined ? Effect.dieMessage("tenant_state has no row: the schema was not created by workcat's migrations") : Effect.succeed(row.keyVersion)))
  )

/**
 * A pool that logs in as the tenant's own database role, whose only schema is the tenant's;
 * nothing in the schema is read yet (it may not even be migrated).
 */
const connect = (id: TenantId, maxConnections?: number) =>
  Effect.gen(function* () {
    const registry = yield* TenantRegistry
    const box = yield* MasterKey
    const { url } = yield* DatabaseUrl
    const record = yield* registry.get(id)
    const password = yield* box.open(record.sealedDbPassword, sealContext.dbPassword(id))
    const schema = tenantSchema(id)
    const { bulk, sql } = yield* makeSchemaPool({
      url,
      schema,
      maxConnections: maxConnections ?? (yield* Config.integer("WORKCAT_TENANT_POOL_SIZE").pipe(Config.withDefault(6))),
      applicationName: `workcat-${id}`,
      login: { user: tenantRole(id), password: Redacted.make(Buffer.from(Redacted.value(password)).toString("utf8")) }
    })
    yield* assertSchema(sql, schema)
    return { sql, bulk, record, schema }
  })

/**
 * Brings the tenant's schema to this build's latest migration, as the tenant's role (which owns
 * what the migrations create). Concurrent runs are safe: the second waits, then finds it done. A
 * schema a newer workcat migrated further is left as it is, and refused.
 */
export const migrate = (id: TenantId) =>
  Effect.gen(function* () {
    const { loader, latest } = yield* TenantMigrations
    const { sql } = yield* connect(id, 1)
    const result = yield* runMigrations(loader, TENANT_MIGRATIONS_TABLE).pipe(Effect.provideService(SqlClient.SqlClient, sql))
    if (result.after > latest) return yield* schemaAhead(id, result.after, latest)
    return result
  }).pipe(Effect.scoped, Effect.withSpan("Tenant.migrate", { attributes: { tenant: id } }))

/**
 * Everything tenant-specific, as layers: the tenant's settings and pseudonyms, and a `SqlClient`
 * that logs in as the tenant's own database role, whose only schema is the tenant's (and `Bulk`,
 * COPY over the same pool). The schema
 * must be at this build's latest migration (`TenantSchemaOutdated`, `TenantSchemaAhead`): opening a
 * tenant never migrates it, `migrate` (at creation, and `workcat migrate`) does.
 */
export const layer = (id: TenantId) =>
  Layer.scopedContext(
    Effect.gen(function* () {
      const box = yield* MasterKey
      const { bulk, record, schema, sql } = yield* connect(id)
      // Checked before anything else is read: a schema this build does not know fails clearly.
      yield* checkTenantSchema(id, sql)
      const version = yield* keyVersion(sql)
      const keys = yield* Effect.forEach(record.sealedKeys.slice(0, version + 1), (sealed, v) =>
        box.open(sealed, sealContext.key(id, v))
      )
      const boxes = keys.map((key, v) => makeLetterBox(id, v, Redacted.value(key)))
      const tenant: TenantContext = {
        id,
        schema,
        settings: record.settings,
        keyVersion: version,
        revision: record.revision,
        pseudonyms: makePseudonyms(keys.map(Redacted.value)),
        letters: {
          current: boxes[version]!,
          open: (sealed, v) => (boxes[v] === undefined ? Effect.dieMessage(`No key version ${v} for this dead letter`) : boxes[v].open(sealed))
        }
      }
      return Context.make(CurrentTenant, tenant).pipe(Context.add(SqlClient.SqlClient, sql), Context.add(Bulk, bulk))
    }).pipe(Effect.withSpan("Tenant.layer", { attributes: { tenant: id } }))
  )
