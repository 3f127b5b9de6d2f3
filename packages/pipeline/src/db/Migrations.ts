import * as Migrator from "@effect/sql/Migrator"
import * as SqlClient from "@effect/sql/SqlClient"
import { ControlSql } from "@workcat/tenancy"
import { Effect } from "effect"
import control0001 from "./migrations/control/0001_runs.js"
import tenant0001 from "./migrations/tenant/0001_ingest.js"
import tenant0002 from "./migrations/tenant/0002_results.js"

const migrate = Migrator.make({})

const TABLE = "schema_migrations"

/**
 * Runs migrations in the client's schema. The Migrator serializes concurrent runs by locking its
 * table, but creates that table racily; so it is created first, under an advisory lock.
 */
const run = (loader: Migrator.Loader) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    yield* sql.withTransaction(
      sql`SELECT pg_advisory_xact_lock(hashtext('workcat:migrate:' || current_schema()))`.pipe(
        Effect.zipRight(sql`
          CREATE TABLE IF NOT EXISTS ${sql(TABLE)} (
            migration_id integer primary key,
            created_at timestamp with time zone not null default now(),
            name text not null
          )`)
      )
    )
    return yield* migrate({ loader, table: TABLE })
  }).pipe(Effect.orDie, Effect.withSpan("Migrations.run"))

/** The tables of one tenant, in the schema the current `SqlClient` resolves to. */
export const migrateTenant = run(
  Migrator.fromRecord({ "0001_ingest": tenant0001, "0002_results": tenant0002 })
)

/** The control plane's tables (run ledger). */
export const migrateControl = Effect.flatMap(ControlSql, (sql) =>
  run(Migrator.fromRecord({ "0001_runs": control0001 })).pipe(
    Effect.provideService(SqlClient.SqlClient, sql)
  )
)
