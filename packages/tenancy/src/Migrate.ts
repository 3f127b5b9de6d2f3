import * as Migrator from "@effect/sql/Migrator"
import * as SqlClient from "@effect/sql/SqlClient"
import { Context, Effect, Layer, Schema } from "effect"
import type { TenantId } from "./TenantId.js"

const migrate = Migrator.make({})

/** A schema's latest applied migration before a run and after it (equal: it was up to date). */
export interface MigrationResult {
  readonly before: number
  readonly after: number
}

const latestApplied = (sql: SqlClient.SqlClient, table: string) =>
  sql<{ version: number }>`SELECT coalesce(max(migration_id), 0)::int AS version FROM ${sql(table)}`.pipe(
    Effect.map(([row]) => row?.version ?? 0)
  )

/**
 * Runs migrations in the schema the current `SqlClient` resolves to, tracked in `table`. The whole
 * run is one transaction under an advisory lock on (schema, table): a concurrent run waits, then
 * finds nothing left to do, and `before`/`after` are what this run did. (The Migrator alone would
 * create its table racily.) Called inside a transaction, it joins it.
 */
export const runMigrations = (loader: Migrator.Loader, table: string) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    return yield* sql.withTransaction(
      Effect.gen(function* () {
        yield* sql`SELECT pg_advisory_xact_lock(hashtext('workcat:migrate:' || current_schema() || ${table}))`
        yield* sql`
          CREATE TABLE IF NOT EXISTS ${sql(table)} (
            migration_id integer primary key,
            created_at timestamp with time zone not null default now(),
            name text not null
          )`
        const before = yield* latestApplied(sql, table)
        yield* migrate({ loader, table })
        const result: MigrationResult = { before, after: yield* latestApplied(sql, table) }
        return result
      })
    )
  }).pipe(Effect.orDie, Effect.withSpan("Migrations.run", { attributes: { table } }))

/** Where a tenant schema records its migrations. */
export const TENANT_MIGRATIONS_TABLE = "schema_migrations"

/**
 * The migrations of a tenant's schema, which the pipeline owns and provides: tenancy applies them
 * when it creates a tenant (and when `workcat migrate` runs), and a tenant's layer opens only a
 * schema at `latest`.
 */
export class TenantMigrations extends Context.Tag("workcat/TenantMigrations")<
  TenantMigrations,
  { readonly loader: Migrator.Loader; readonly latest: number }
>() {
  static readonly layer = (loader: Migrator.Loader) =>
    Layer.effect(
      TenantMigrations,
      Effect.map(Effect.orDie(loader), (migrations) => ({ loader, latest: Math.max(0, ...migrations.map(([id]) => id)) }))
    )
}

/** The tenant's schema is behind this build's migrations: `workcat migrate --tenant T` brings it up. */
export class TenantSchemaOutdated extends Schema.TaggedError<TenantSchemaOutdated>()("TenantSchemaOutdated", {
  tenant: Schema.String,
  /** The schema's latest applied migration. */
  at: Schema.Int,
  /** The latest migration this build knows. */
  needs: Schema.Int,
  message: Schema.String
}) {}

/** A newer workcat migrated the tenant's schema past what this build knows: this build must not write to it. */
export class TenantSchemaAhead extends Schema.TaggedError<TenantSchemaAhead>()("TenantSchemaAhead", {
  tenant: Schema.String,
  at: Schema.Int,
  /** The latest migration this build knows. */
  knows: Schema.Int,
  message: Schema.String
}) {}

export const schemaAhead = (tenant: TenantId, at: number, knows: number) =>
  new TenantSchemaAhead({
    tenant,
    at,
    knows,
    message: `tenant ${tenant}'s schema is at migration ${at}, newer than this workcat knows (${knows}): use a workcat as new as the one that migrated it`
  })

/** The latest migration applied to the schema the client resolves to; 0 for a schema never migrated. */
export const tenantSchemaVersion = (sql: SqlClient.SqlClient) =>
  latestApplied(sql, TENANT_MIGRATIONS_TABLE).pipe(
    Effect.catchIf((e) => (e.cause as { code?: string } | undefined)?.code === "42P01", () => Effect.succeed(0)) // undefined_table
  )

/** Fails unless the tenant's schema is at exactly this build's latest migration: one query. */
export const checkTenantSchema = Effect.fn("TenantMigrations.check")(function* (tenant: TenantId, sql: SqlClient.SqlClient) {
  const { latest } = yield* TenantMigrations
  const at = yield* tenantSchemaVersion(sql)
  if (at < latest) {
    return yield* new TenantSchemaOutdated({
      tenant,
      at,
      needs: latest,
      message: `tenant ${tenant}'s schema is at migration ${at} of ${latest}: run \`workcat migrate --tenant ${tenant}\``
    })
  }
  if (at > latest) return yield* schemaAhead(tenant, at, latest)
})
