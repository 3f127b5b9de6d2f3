import * as SqlClient from "@effect/sql/SqlClient"
import { makePseudonyms, type Pseudonyms } from "@workcat/core"
import { Config, Context, Effect, Layer, Redacted } from "effect"
import { assertSchema, DatabaseUrl, makeSchemaClient } from "./Database.js"
import { type LetterBox, makeLetterBox } from "./LetterBox.js"
import { MasterKey } from "./MasterKey.js"
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
 * in the same transaction that re-keys the data.
 */
const keyVersion = (sql: SqlClient.SqlClient) =>
  Effect.gen(function* () {
    yield* sql`
      CREATE TABLE IF NOT EXISTS tenant_state (
        singleton   boolean PRIMARY KEY DEFAULT true CHECK (singleton),
        key_version integer NOT NULL
      )`
    yield* sql`INSERT INTO tenant_state (key_version) VALUES (0) ON CONFLICT DO NOTHING`
    const [row] = yield* sql<{ keyVersion: number }>`SELECT key_version AS "keyVersion" FROM tenant_state`
    return row!.keyVersion
  })

/**
 * Everything tenant-specific, as layers: the tenant's settings and pseudonyms, and a `SqlClient`
 * that logs in as the tenant's own database role, whose only schema is the tenant's.
 */
export const layer = (id: TenantId) =>
  Layer.scopedContext(
    Effect.gen(function* () {
      const registry = yield* TenantRegistry
      const box = yield* MasterKey
      const { url } = yield* DatabaseUrl
      const record = yield* registry.get(id)
      const password = yield* box.open(record.sealedDbPassword, sealContext.dbPassword(id))
      const maxConnections = yield* Config.integer("WORKCAT_TENANT_POOL_SIZE").pipe(Config.withDefault(6))
      const schema = tenantSchema(id)
      const sql = yield* makeSchemaClient({
        url,
        schema,
        maxConnections,
        applicationName: `workcat-${id}`,
        login: { user: tenantRole(id), password: Redacted.make(Buffer.from(Redacted.value(password)).toString("utf8")) }
      })
      yield* assertSchema(sql, schema)
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
      return Context.make(CurrentTenant, tenant).pipe(Context.add(SqlClient.SqlClient, sql))
    }).pipe(Effect.withSpan("Tenant.layer", { attributes: { tenant: id } }))
  )
