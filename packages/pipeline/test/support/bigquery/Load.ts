import { type DuckDBValue, LIST, listValue, STRUCT, structValue } from "@duckdb/node-api"
import { type CatalogTable, duckName } from "./Catalog.js"
import type { Duck } from "./Duck.js"
import { BigQueryError } from "./Errors.js"
import { duckType, fromJson, quoteIdent, type TableFieldSchema } from "./Types.js"

/** The `configuration.load` of a load job, as far as the test server reads it. */
export interface LoadConfiguration {
  readonly destinationTable?: { readonly projectId?: string; readonly datasetId?: string; readonly tableId?: string }
  readonly sourceFormat?: string
  readonly writeDisposition?: string
  readonly createDisposition?: string
  readonly schema?: { readonly fields?: ReadonlyArray<TableFieldSchema> }
  readonly ignoreUnknownValues?: boolean
  readonly maxBadRecords?: number
  readonly sourceUris?: ReadonlyArray<string>
}

export interface LoadOutcome {
  readonly inputBytes: number
  readonly outputRows: number
  readonly badRecords: number
}

/** One row of NDJSON as the table's DuckDB values, or BigQuery's complaint about it. */
const rowOf = (line: string, table: CatalogTable, ignoreUnknownValues: boolean): Array<DuckDBValue> => {
  let json: unknown
  try {
    json = JSON.parse(line)
  } catch (e) {
    throw new Error(`Parser terminated before end of string (${(e as Error).message})`)
  }
  if (typeof json !== "object" || json === null || Array.isArray(json)) throw new Error("The row is not a JSON object.")
  const fields = new Map(Object.entries(json).map(([k, v]) => [k.toLowerCase(), v]))
  const unknown = [...fields.keys()].find((k) => !table.columns.some((c) => c.name.toLowerCase() === k))
  if (unknown !== undefined && !ignoreUnknownValues) throw new Error(`No such field: ${unknown}.`)
  return table.columns.map((c) => {
    const v = fields.get(c.name.toLowerCase())
    if (c.required && (v === null || v === undefined)) throw new Error(`Missing required field: ${c.name}.`)
    return fromJson(c.type, v, c.name)
  })
}

/**
 * Loads newline-delimited JSON into `table` (call it inside `duck.exclusive`): every row is read
 * and checked against the schema first, and a load with more bad rows than `maxBadRecords` (0 by
 * default) fails whole, with BigQuery's "Error while reading data" errors, before anything is
 * written; the rows then go in with one INSERT (after a DELETE for WRITE_TRUNCATE, in the same
 * transaction), so a load lands all its rows or none.
 */
export const runLoad = async (duck: Duck, table: CatalogTable, config: LoadConfiguration, data: Buffer): Promise<LoadOutcome> => {
  const rows: Array<Array<DuckDBValue>> = []
  const errors: Array<string> = []
  let offset = 0
  for (const line of data.toString("utf8").split("\n")) {
    const start = offset
    offset += Buffer.byteLength(line) + 1
    if (line.trim() === "") continue
    try {
      rows.push(rowOf(line, table, config.ignoreUnknownValues === true))
    } catch (e) {
      errors.push(`Error while reading data, error message: JSON parsing error in row starting at position ${start}: ${(e as Error).message}`)
    }
  }
  if (errors.length > (config.maxBadRecords ?? 0)) {
    const summary = `Error while reading data, error message: JSON table encountered too many errors, giving up. Rows: ${rows.length + errors.length}; errors: ${errors.length}. Please look into the errors[] collection for more details.`
    throw new BigQueryError("invalid", summary, errors.slice(0, 5))
  }
  const disposition = config.writeDisposition ?? "WRITE_APPEND"
  const name = duckName(table)
  if (disposition === "WRITE_EMPTY") {
    const [count] = (await duck.run(`SELECT count(*) FROM ${name}`)).getRows()
    if (Number(count![0]) > 0) throw new BigQueryError("duplicate", `Already Exists: Table ${table.dataset}.${table.table} (WRITE_EMPTY on a table with rows)`)
  } else if (disposition !== "WRITE_APPEND" && disposition !== "WRITE_TRUNCATE") {
    throw new BigQueryError("invalid", `Invalid writeDisposition: ${disposition}`)
  }
  const rowType = STRUCT(Object.fromEntries(table.columns.map((c) => [c.name, duckType(c.type)])))
  const values = listValue(rows.map((row) => structValue(Object.fromEntries(table.columns.map((c, i) => [c.name, row[i]!])))))
  const columns = table.columns.map((c) => quoteIdent(c.name))
  const insert = `INSERT INTO ${name} (${columns.join(", ")}) SELECT ${columns.map((c) => `r.${c}`).join(", ")} FROM (SELECT UNNEST($rows) AS r)`
  await duck.run("BEGIN TRANSACTION")
  try {
    if (disposition === "WRITE_TRUNCATE") await duck.run(`DELETE FROM ${name}`)
    if (rows.length > 0) await duck.run(insert, { values: { rows: values }, types: { rows: LIST(rowType) } })
    await duck.run("COMMIT")
  } catch (e) {
    await duck.run("ROLLBACK")
    throw new BigQueryError("invalid", `Error while reading data, error message: ${(e as Error).message}`)
  }
  return { inputBytes: data.length, outputRows: rows.length, badRecords: errors.length }
}
