import * as Migrator from "@effect/sql/Migrator"
import * as SqlClient from "@effect/sql/SqlClient"
import { Effect } from "effect"

const migrate = Migrator.make({})

/**
 * Runs migrations in the schema the current `SqlClient` resolves to, tracked in `table`. The
 * Migrator serializes concurrent runs by locking its table but creates that table racily, so the
 * table is created first, under an advisory lock.
 */
export const runMigrations = (loader: Migrator.Loader, table: string) =>
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    yield* sql.withTransaction(
      sql`SELECT pg_advisory_xact_lock(hashtext('workcat:migrate:' || current_schema() || ${table}))`.pipe(
        Effect.zipRight(sql`
          CREATE TABLE IF NOT EXISTS ${sql(table)} (
            migration_id integer primary key,
            created_at timestamp with time zone not null default now(),
            name text not null
          )`)
      )
    )
    return yield* migrate({ loader, table })
  }).pipe(Effect.orDie, Effect.withSpan("Migrations.run", { attributes: { table } }))
