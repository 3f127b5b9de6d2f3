import { DuckDBInstance, type DuckDBResultReader, type DuckDBType, type DuckDBValue } from "@duckdb/node-api"
import { invalidQuery } from "./Errors.js"

/** Values for a statement's `$name` parameters, with their DuckDB types. */
export interface Bindings {
  readonly values: Record<string, DuckDBValue>
  readonly types: Record<string, DuckDBType>
}

/** The in-memory DuckDB that holds the server's datasets (one schema each) and runs its jobs. */
export interface Duck {
  readonly run: (sql: string, bindings?: Bindings) => Promise<DuckDBResultReader>
  /** Prepares (binds and plans, runs nothing) a statement: DuckDB refuses what it cannot run. */
  readonly validate: (sql: string) => Promise<void>
  /**
   * A query's result columns, from its prepared statement; where those are not typed yet (a
   * parameter whose type only its value gives, such as a list in `UNNEST`), from a run of it
   * with its parameters that reads no row (`LIMIT 0`).
   */
  readonly describe: (sql: string, bindings: Bindings) => Promise<ReadonlyArray<{ readonly name: string; readonly type: DuckDBType }>>
  /** Runs `work` alone: jobs and DDL never interleave (a script's transaction is the connection's). */
  readonly exclusive: <A>(work: () => Promise<A>) => Promise<A>
  readonly close: () => void
}

/** A DuckDB failure as BigQuery would report a query it cannot run: `invalidQuery`, with DuckDB's message. */
export const duckFailure = (e: unknown) => invalidQuery(`The test server's DuckDB refused the translated query: ${e instanceof Error ? e.message : String(e)}`)

export const openDuck = async (): Promise<Duck> => {
  const instance = await DuckDBInstance.create(":memory:")
  const connection = await instance.connect()
  // BigQuery's defaults: times in UTC, NULLs first in ascending order and last in descending order.
  await connection.run("SET TimeZone = 'UTC'")
  await connection.run("SET default_null_order = 'nulls_first_on_asc_last_on_desc'")
  let tail: Promise<unknown> = Promise.resolve()
  return {
    run: (sql, bindings) => connection.runAndReadAll(sql, bindings?.values, bindings?.types),
    validate: async (sql) => {
      ;(await connection.prepare(sql)).destroySync()
    },
    describe: async (sql, bindings) => {
      const prepared = await connection.prepare(sql)
      try {
        return Array.from({ length: prepared.columnCount }, (_, i) => ({ name: prepared.columnName(i), type: prepared.columnType(i) }))
      } catch {
        const reader = await connection.runAndReadAll(`SELECT * FROM (${sql}) AS _described LIMIT 0`, bindings.values, bindings.types)
        const types = reader.columnTypes()
        return reader.columnNames().map((name, i) => ({ name, type: types[i]! }))
      } finally {
        prepared.destroySync()
      }
    },
    exclusive: (work) => {
      const result = tail.then(work)
      tail = result.catch(() => undefined)
      return result
    },
    close: () => {
      connection.closeSync()
      instance.closeSync()
    }
  }
}
