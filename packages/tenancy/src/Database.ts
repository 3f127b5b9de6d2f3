import * as Reactivity from "@effect/experimental/Reactivity"
import * as Migrator from "@effect/sql/Migrator"
import * as SqlClient from "@effect/sql/SqlClient"
import * as SqlError from "@effect/sql/SqlError"
import * as PgClient from "@effect/sql-pg/PgClient"
import { Config, Context, Effect, Layer, Redacted } from "effect"
import Pg from "pg"
import { from as copyFrom } from "pg-copy-streams"
import { runMigrations } from "./Migrate.js"
import tenants0001 from "./migrations/0001_tenants.js"
import publicSchema0002 from "./migrations/0002_public_schema.js"
import webSessions0003 from "./migrations/0003_web_sessions.js"
import tenantSecrets0004 from "./migrations/0004_tenant_secrets.js"
import operators0005 from "./migrations/0005_operators.js"

/** The PostgreSQL connection string of the control plane; tenant pools derive theirs from it. */
export class DatabaseUrl extends Context.Tag("workcat/DatabaseUrl")<
  DatabaseUrl,
  { readonly url: Redacted.Redacted<string>; readonly embedded: boolean }
>() {}

/** The schema of the control plane: tenant registry, tokens, audit log, run ledger. */
export const CONTROL_SCHEMA = "workcat"

/**
 * Type parsers: `date` stays a `YYYY-MM-DD` string (pg would make it a local-time Date) and
 * `bigint` counts become numbers.
 */
const pgTypes: Pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: "text" | "binary") => {
    if (oid === Pg.types.builtins.DATE) return (value: string) => value
    if (oid === Pg.types.builtins.INT8) return (value: string) => Number(value)
    return Pg.types.getTypeParser(oid, format as "text")
  }) as Pg.CustomTypesConfig["getTypeParser"]
}

export interface PoolOptions {
  readonly url: Redacted.Redacted<string>
  /** The only schema unqualified names resolve to. */
  readonly schema: string
  readonly maxConnections: number
  readonly applicationName: string
  /** Log in as this role instead of the URL's user. */
  readonly login?: { readonly user: string; readonly password: Redacted.Redacted<string> } | undefined
}

const connectionString = (options: PoolOptions): string => {
  const url = new URL(Redacted.value(options.url))
  if (options.login !== undefined) {
    url.username = encodeURIComponent(options.login.user)
    url.password = encodeURIComponent(Redacted.value(options.login.password))
  }
  return url.toString()
}

/**
 * A transaction on one connection of a schema's pool, for what `@effect/sql-pg` has no API for:
 * `COPY … FROM STDIN`. Statements are plain text with `$n` parameters; errors are `SqlError`s
 * whose cause is the driver's error (its SQLSTATE in `code`), as from the `SqlClient`.
 */
export interface BulkTransaction {
  readonly query: <A extends object>(text: string, params?: ReadonlyArray<unknown>) => Effect.Effect<ReadonlyArray<A>, SqlError.SqlError>
  /** Streams `rows` (COPY text format, one line per row) into `statement`; returns the rows copied. */
  readonly copyFrom: (statement: string, rows: string) => Effect.Effect<number, SqlError.SqlError>
}

/** Bulk loading over the same pool, role and `search_path` as the schema's `SqlClient`. */
export interface BulkLoad {
  /** Runs `body` in a transaction of its own: committed if it succeeds, rolled back otherwise. */
  readonly transaction: <A, E, R>(body: (tx: BulkTransaction) => Effect.Effect<A, E, R>) => Effect.Effect<A, E | SqlError.SqlError, R>
}

export class Bulk extends Context.Tag("workcat/BulkLoad")<Bulk, BulkLoad>() {}

const driverError = (cause: unknown) => new SqlError.SqlError({ cause, message: (cause as Error).message })

const makeBulkLoad = (pool: Pg.Pool): BulkLoad => ({
  transaction: (body) =>
    Effect.acquireUseRelease(
      Effect.tryPromise({ try: () => pool.connect(), catch: driverError }).pipe(Effect.map((client) => ({ client, idle: true }))),
      (connection) => {
        // A statement interrupted mid-flight leaves the connection mid-protocol: see the release.
        const run = <A>(f: () => Promise<A>) =>
          Effect.suspend(() => {
            connection.idle = false
            return Effect.tryPromise({ try: f, catch: driverError }).pipe(Effect.tap(() => (connection.idle = true)))
          })
        const tx: BulkTransaction = {
          query: <A extends object>(text: string, params?: ReadonlyArray<unknown>) =>
            run(() => connection.client.query<A>(text, params as Array<unknown>).then((r) => r.rows)),
          copyFrom: (statement, rows) =>
            run(
              () =>
                new Promise<number>((resolve, reject) => {
                  const stream = connection.client.query(copyFrom(statement))
                  stream.on("error", reject)
                  stream.on("finish", () => resolve(stream.rowCount))
                  stream.end(rows)
                })
            )
        }
        return run(() => connection.client.query("BEGIN")).pipe(
          Effect.zipRight(body(tx)),
          Effect.tap(() => run(() => connection.client.query("COMMIT"))),
          Effect.tapErrorCause(() => run(() => connection.client.query("ROLLBACK")).pipe(Effect.ignore))
        )
      },
      // A connection that is not idle (interrupted, or its ROLLBACK failed) is closed, not reused.
      ({ client, idle }) => Effect.sync(() => client.release(idle ? undefined : new Error("bulk transaction interrupted")))
    )
})

/** A pool whose every connection resolves unqualified names in one schema only, and its bulk loading. */
export const makeSchemaPool = (options: PoolOptions) =>
  Effect.gen(function* () {
    const pool = yield* Effect.acquireRelease(
      Effect.sync(
        () =>
          new Pg.Pool({
            connectionString: connectionString(options),
            options: `-c search_path=${Pg.escapeIdentifier(options.schema)}`,
            max: options.maxConnections,
            application_name: options.applicationName,
            idleTimeoutMillis: 30_000,
            connectionTimeoutMillis: 10_000,
            types: pgTypes
          })
      ),
      (pool) => Effect.promise(() => pool.end()).pipe(Effect.interruptible, Effect.timeoutOption("2 seconds"))
    )
    pool.on("error", () => {}) // idle-client errors surface on the next query instead
    yield* Effect.tryPromise({
      try: () => pool.query("SELECT 1"),
      // The message of a failed login can echo the user, never the password; say only what failed.
      catch: (cause) => new SqlError.SqlError({ cause, message: `Cannot connect for schema ${options.schema}: ${(cause as Error).message}` })
    })
    const sql = yield* PgClient.fromPool({ acquire: Effect.succeed(pool), applicationName: options.applicationName })
    return { sql, bulk: makeBulkLoad(pool) }
  }).pipe(Effect.provide(Reactivity.layer))

/**
 * Isolation by schema rests on the `search_path` startup option; a connection pooler that drops
 * startup options would silently resolve names elsewhere. Fail instead.
 */
export const assertSchema = (sql: SqlClient.SqlClient, schema: string) =>
  sql<{ schema: string | null }>`SELECT current_schema() AS schema`.pipe(
    Effect.flatMap(([row]) =>
      row?.schema === schema
        ? Effect.void
        : Effect.dieMessage(`Connections resolve names in ${row?.schema ?? "no schema"}, not ${schema}: is a pooler dropping the search_path option?`)
    )
  )

/** The control plane's client: a separate tag, so it never shadows a tenant's `SqlClient`. */
export class ControlSql extends Context.Tag("workcat/ControlSql")<ControlSql, SqlClient.SqlClient>() {}

/** Runs migrations of the control plane, tracked per owner (`tenancy`, `pipeline`). */
export const migrateControl = (loader: Migrator.Loader, owner: string) =>
  Effect.flatMap(ControlSql, (sql) =>
    runMigrations(loader, `${owner}_migrations`).pipe(Effect.provideService(SqlClient.SqlClient, sql))
  )

/** The control plane's pool (as the `DATABASE_URL` user), with its schema and tenancy tables. */
export const ControlSqlLive = Layer.scoped(
  ControlSql,
  Effect.gen(function* () {
    const { url } = yield* DatabaseUrl
    const maxConnections = yield* Config.integer("WORKCAT_CONTROL_POOL_SIZE").pipe(Config.withDefault(4))
    const { sql } = yield* makeSchemaPool({ url, schema: CONTROL_SCHEMA, maxConnections, applicationName: "workcat-control" })
    yield* sql`CREATE SCHEMA IF NOT EXISTS ${sql(CONTROL_SCHEMA)}`.pipe(
      Effect.catchIf((e) => (e.cause as { code?: string })?.code === "23505", () => Effect.void) // created concurrently
    )
    yield* assertSchema(sql, CONTROL_SCHEMA)
    const migrations = {
      "0001_tenants": tenants0001,
      "0002_public_schema": publicSchema0002,
      "0003_web_sessions": webSessions0003,
      "0004_tenant_secrets": tenantSecrets0004,
      "0005_operators": operators0005
    }
    yield* runMigrations(Migrator.fromRecord(migrations), "tenancy_migrations").pipe(
      Effect.provideService(SqlClient.SqlClient, sql)
    )
    return sql
  })
)
