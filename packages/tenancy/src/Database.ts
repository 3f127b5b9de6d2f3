import * as Reactivity from "@effect/experimental/Reactivity"
import * as SqlClient from "@effect/sql/SqlClient"
import * as SqlError from "@effect/sql/SqlError"
import * as PgClient from "@effect/sql-pg/PgClient"
import { Config, Context, Effect, Layer, Redacted } from "effect"
import Pg from "pg"

/** The PostgreSQL connection string every pool of the process derives from. */
export class DatabaseUrl extends Context.Tag("workcat/DatabaseUrl")<DatabaseUrl, Redacted.Redacted<string>>() {}

/** The schema of the control plane: run ledger and, later, the tenant registry. */
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
  /** The schema unqualified names resolve to, created if missing. */
  readonly schema: string
  readonly maxConnections: number
  readonly applicationName: string
}

/**
 * A pool whose every connection resolves unqualified names in one schema. The schema is created
 * first, under an advisory lock so concurrent processes do not race on it.
 */
export const makeSchemaClient = (options: PoolOptions) =>
  Effect.gen(function* () {
    const url = yield* DatabaseUrl
    const pool = yield* Effect.acquireRelease(
      Effect.sync(
        () =>
          new Pg.Pool({
            connectionString: Redacted.value(url),
            options: `-c search_path=${Pg.escapeIdentifier(options.schema)}`,
            max: options.maxConnections,
            application_name: options.applicationName,
            idleTimeoutMillis: 30_000,
            connectionTimeoutMillis: 10_000,
            types: pgTypes
          })
      ),
      (pool) => Effect.promise(() => pool.end()).pipe(Effect.timeoutOption("2 seconds"))
    )
    pool.on("error", () => {}) // idle-client errors surface on the next query instead
    yield* Effect.tryPromise({
      try: async () => {
        const client = await pool.connect()
        try {
          await client.query("BEGIN")
          await client.query("SELECT pg_advisory_xact_lock(hashtext($1))", [`workcat:schema:${options.schema}`])
          await client.query(`CREATE SCHEMA IF NOT EXISTS ${Pg.escapeIdentifier(options.schema)}`)
          await client.query("COMMIT")
        } finally {
          client.release()
        }
      },
      catch: (cause) => new SqlError.SqlError({ cause, message: `Cannot prepare schema ${options.schema}: ${String(cause)}` })
    })
    return yield* PgClient.fromPool({
      acquire: Effect.succeed(pool),
      applicationName: options.applicationName
    })
  })

/** The control plane's client: a separate tag, so it never shadows a tenant's `SqlClient`. */
export class ControlSql extends Context.Tag("workcat/ControlSql")<ControlSql, SqlClient.SqlClient>() {}

export const ControlSqlLive = Layer.scoped(
  ControlSql,
  Effect.gen(function* () {
    const maxConnections = yield* Config.integer("WORKCAT_CONTROL_POOL_SIZE").pipe(Config.withDefault(4))
    return yield* makeSchemaClient({ schema: CONTROL_SCHEMA, maxConnections, applicationName: "workcat-control" })
  }).pipe(Effect.provide(Reactivity.layer))
)
