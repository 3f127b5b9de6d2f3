import type { DuckDBResultReader, DuckDBType, DuckDBValue } from "@duckdb/node-api"
import { type Catalog, type CatalogTable, duckName } from "./Catalog.js"
import { type Bindings, type Duck, duckFailure } from "./Duck.js"
import { BigQueryError, invalidQuery, unsupported } from "./Errors.js"
import { type PartitionBound, type PartitionFilter, partitionFilterOf } from "./Partitions.js"
import { isSubquery, isSymbol, type Node, statementsOf, wordOf } from "./Sql.js"
import { kindOf, type StatementKind, type TableRef, tableRefs, translate } from "./Translate.js"
import {
  checkNoNullElements,
  type Column,
  duckType,
  fieldSchemaOf,
  fromJson,
  type ParameterType,
  type ParameterValue,
  parameterJson,
  parameterTypeOf,
  quoteIdent,
  sizeSql,
  type TableFieldSchema
} from "./Types.js"

/**
 * A query job, run for real: the script is split into statements, each translated to DuckDB
 * (`Translate.ts`), checked like BigQuery checks it (tables exist, partition filters where a table
 * requires them, parameters given, DELETE and UPDATE have a WHERE), priced by the on-demand model
 * (`bytesOf`), refused over `maximumBytesBilled`, and then (unless a dry run) executed in order;
 * a failure inside BEGIN TRANSACTION … COMMIT TRANSACTION rolls the transaction back.
 */
export interface QueryParameter {
  readonly name?: string
  readonly parameterType: ParameterType
  readonly parameterValue: ParameterValue
}

export interface QueryRequest {
  readonly query: string
  readonly parameters: ReadonlyArray<QueryParameter>
  readonly parameterMode: string | undefined
  readonly defaultDataset: string | undefined
  readonly dryRun: boolean
  readonly maximumBytesBilled: string | undefined
}

/** Rows of a query result, with their BigQuery schema. */
export interface ResultSet {
  readonly schema: ReadonlyArray<TableFieldSchema>
  readonly types: ReadonlyArray<DuckDBType>
  readonly rows: ReadonlyArray<ReadonlyArray<DuckDBValue>>
}

export interface QueryOutcome {
  readonly statementType: string
  readonly bytesProcessed: number
  /** Undefined for a dry run, which bills nothing. */
  readonly bytesBilled: number | undefined
  readonly dmlAffectedRows: number | undefined
  readonly referencedTables: ReadonlyArray<{ readonly datasetId: string; readonly tableId: string }>
  /** The last SELECT's rows (for a dry run, only its schema). */
  readonly result: ResultSet | undefined
}

const MiB = 1024 * 1024
const DAY_MS = 86_400_000
const DML = new Set<StatementKind>(["INSERT", "UPDATE", "DELETE", "MERGE", "TRUNCATE_TABLE"])

interface Read {
  readonly ref: TableRef
  readonly table: CatalogTable
  readonly filter: PartitionFilter | undefined
  readonly columns: ReadonlyArray<Column>
}

interface Planned {
  readonly kind: StatementKind
  readonly sql: string
  readonly params: ReadonlySet<string>
  readonly tables: ReadonlyArray<CatalogTable>
  readonly reads: ReadonlyArray<Read>
}

/** The lower-cased names a statement mentions (its words and backticked names): the columns it may read. */
const mentionedNames = (items: ReadonlyArray<Node>, names = new Set<string>()) => {
  for (const node of items) {
    if (node.kind === "group") mentionedNames(node.items, names)
    if (node.kind === "word") names.add(node.text.toLowerCase())
    if (node.kind === "quoted") names.add(node.parts.at(-1)!.toLowerCase())
  }
  return names
}

/** The references that `SELECT *` (at their level) or `alias.*` read entirely. */
const starredRefs = (statement: ReadonlyArray<Node>, refs: ReadonlyArray<TableRef>) => {
  const starred = new Set<TableRef>()
  const scan = (items: ReadonlyArray<Node>) =>
    items.forEach((node, i) => {
      if (node.kind === "group") scan(node.items)
      if (!isSymbol(node, "*")) return
      const before = items[i - 1]
      if (["SELECT", "DISTINCT", "ALL"].includes(wordOf(before) ?? "")) refs.filter((r) => r.items === items).forEach((r) => starred.add(r))
      if (isSymbol(before, ".")) {
        const qualifier = items[i - 2]
        const name = qualifier?.kind === "word" ? qualifier.text : qualifier?.kind === "quoted" ? qualifier.parts.at(-1) : undefined
        refs.filter((r) => (r.alias ?? r.path.at(-1))?.toLowerCase() === name?.toLowerCase()).forEach((r) => starred.add(r))
      }
    })
  scan(statement)
  return starred
}

const hasTopLevelWhere = (statement: ReadonlyArray<Node>) => statement.some((n) => wordOf(n) === "WHERE")

/** Translates and checks one statement against the catalog. */
const plan = (statement: ReadonlyArray<Node>, catalog: Catalog, defaultDataset: string | undefined): Planned => {
  const kind = kindOf(statement)
  if ((kind === "DELETE" || kind === "UPDATE") && !hasTopLevelWhere(statement)) throw invalidQuery(`${kind} must have a WHERE clause`)
  const refs = tableRefs(statement)
  const resolve = (ref: TableRef): CatalogTable => {
    const { path } = ref
    if (path.length > 3) throw invalidQuery(`Invalid table name: ${path.join(".")}`)
    if (path.length === 3 && path[0] !== catalog.projectId) throw new BigQueryError("notFound", `Not found: Project ${path[0]}`)
    const dataset = path.length === 1 ? defaultDataset : path.at(-2)!
    if (dataset === undefined) throw invalidQuery(`Table "${path[0]}" must be qualified with a dataset (e.g. dataset.table).`)
    const table = catalog.table(dataset, path.at(-1)!)
    if (table === undefined) throw new BigQueryError("notFound", `Not found: Table ${catalog.projectId}:${dataset}.${path.at(-1)}`)
    return table
  }
  const tables = new Map(refs.map((r) => [r, resolve(r)] as const))
  const mentioned = mentionedNames(statement)
  const starred = starredRefs(statement, refs)
  const reads = refs
    .filter((ref) => ref.role === "read")
    .map((ref): Read => {
      const table = tables.get(ref)!
      const filter = table.partition && partitionFilterOf(ref, table.partition.column, table.partition.isDate, kind === "MERGE")
      if (table.requirePartitionFilter && table.partition !== undefined && !filter?.found) {
        throw invalidQuery(
          `Cannot query over table '${table.dataset}.${table.table}' without a filter over column(s) '${table.partition.column}' that can be used for partition elimination`
        )
      }
      const columns = starred.has(ref) ? table.columns : table.columns.filter((c) => mentioned.has(c.name.toLowerCase()))
      return { ref, table, filter, columns }
    })
  // An UPDATE or DELETE also bills every column of the partitions it changes (BigQuery's t'):
  // counted here as the partitions its filter leaves of its target (an upper bound: the real bill
  // counts those holding a changed row).
  const target = kind === "UPDATE" || kind === "DELETE" ? reads.find((r) => r.ref === refs[0]) : undefined
  const billed = target === undefined ? reads : [...reads, { ...target, columns: target.table.columns }]
  const columnNames = new Set([...tables.values()].flatMap((t) => t.columns.map((c) => c.name.toLowerCase())))
  const { sql, params } = translate(statement, refs, (ref) => duckName(tables.get(ref)!), columnNames)
  return { kind, sql, params, tables: [...tables.values()], reads: billed }
}

type Parameters = ReadonlyMap<string, { readonly value: DuckDBValue; readonly type: DuckDBType }>

const parametersOf = (request: QueryRequest): Parameters => {
  if (request.parameters.length > 0 && request.parameterMode?.toUpperCase() !== "NAMED") throw unsupported("positional query parameters")
  return new Map(
    request.parameters.map((p) => {
      const name = p.name ?? ""
      const type = parameterTypeOf(p.parameterType, name)
      try {
        return [name.toLowerCase(), { value: fromJson(type, parameterJson(type, p.parameterValue, name), name, "allowed"), type: duckType(type) }] as const
      } catch (e) {
        throw invalidQuery(`Invalid value for query parameter ${name}: ${(e as Error).message}`)
      }
    })
  )
}

const bindingsOf = (parameters: Parameters, used: ReadonlySet<string>): Bindings => {
  const values: Record<string, DuckDBValue> = {}
  const types: Record<string, DuckDBType> = {}
  for (const name of used) {
    const p = parameters.get(name)
    if (p === undefined) throw invalidQuery(`Query parameter '${name}' not found`)
    values[name] = p.value
    types[name] = p.type
  }
  return { values, types }
}

const containsSubquery = (nodes: ReadonlyArray<Node>): boolean => nodes.some((n) => n.kind === "group" && (isSubquery(n) || containsSubquery(n.items)))

/** The [min, max] epoch milliseconds of a bound's constant side, or undefined if it is not a constant (or NULL). */
const evaluateBound = async (duck: Duck, parameters: Parameters, bound: PartitionBound) => {
  if (containsSubquery(bound.nodes)) return undefined
  const ms = (v: string) => `epoch_ms(CAST(${v} AS TIMESTAMPTZ))`
  const [first, second] = bound.nodes
  let from: { sql: string; params: ReadonlySet<string> }
  if (bound.op === "in" && wordOf(first) === "UNNEST" && second?.kind === "group" && bound.nodes.length === 2) {
    from = translate(second.items, [], () => "")
    from = { ...from, sql: `SELECT ${ms("min(v)")}, ${ms("max(v)")} FROM (SELECT UNNEST(${from.sql}) AS v)` }
  } else if (bound.op === "in" && first?.kind === "group" && bound.nodes.length === 1) {
    const list = translate(first.items, [], () => "")
    from = { params: list.params, sql: `SELECT ${ms("min(v)")}, ${ms("max(v)")} FROM (SELECT UNNEST([${list.sql}]) AS v)` }
  } else if (bound.op !== "in") {
    const value = translate(bound.nodes, [], () => "")
    from = { params: value.params, sql: `SELECT ${ms(`(${value.sql})`)}, ${ms(`(${value.sql})`)}` }
  } else {
    return undefined
  }
  try {
    const [row] = (await duck.run(from.sql, bindingsOf(parameters, from.params))).getRows()
    return row?.[0] === null || row?.[1] === null || row === undefined ? undefined : ([Number(row[0]), Number(row[1])] as const)
  } catch {
    return undefined // not a constant: the bound does not narrow the partitions read
  }
}

/** The days (since the epoch, both included) of the partitions a read can touch, or undefined for all of them. */
const partitionDays = async (duck: Duck, parameters: Parameters, read: Read) => {
  let lo = -Infinity
  let hi = Infinity
  for (const bound of read.filter?.bounds ?? []) {
    const range = await evaluateBound(duck, parameters, bound)
    if (range === undefined) continue
    const [min, max] = range
    const day = (m: number) => Math.floor(m / DAY_MS)
    // A timestamp bound cuts a day's partition; `<` midnight (or a date) excludes that day.
    const below = (m: number) => (bound.dateValued || m % DAY_MS === 0 ? day(m) - 1 : day(m))
    if (bound.op === "=" || bound.op === "in" || bound.op === ">=") lo = Math.max(lo, day(min))
    if (bound.op === "=" || bound.op === "in" || bound.op === "<=") hi = Math.min(hi, day(max))
    if (bound.op === ">") lo = Math.max(lo, bound.dateValued ? day(min) + 1 : day(min))
    if (bound.op === "<") hi = Math.min(hi, below(max))
  }
  return lo === -Infinity && hi === Infinity ? undefined : { lo, hi }
}

/** The stored size of the columns a read mentions, over the partitions it can touch. */
const bytesRead = async (duck: Duck, parameters: Parameters, read: Read): Promise<number> => {
  if (read.columns.length === 0) return 0
  const days = await partitionDays(duck, parameters, read)
  if (days !== undefined && days.lo > days.hi) return 0
  const size = read.columns.map((c) => sizeSql(c.type, quoteIdent(c.name))).join(" + ")
  const clamp = (n: number) => Math.max(-1e8, Math.min(1e8, n)) // finite days, for one-sided ranges
  const where =
    days === undefined
      ? ""
      : ` WHERE date_diff('day', DATE '1970-01-01', CAST(${quoteIdent(read.table.partition!.column)} AS DATE)) BETWEEN ${clamp(days.lo)} AND ${clamp(days.hi)}`
  const [row] = (await duck.run(`SELECT CAST(COALESCE(SUM(${size}), 0) AS BIGINT) FROM ${duckName(read.table)}${where}`)).getRows()
  return Number(row![0])
}

/**
 * What one statement processes and bills: the bytes of the tables it reads (and, for an UPDATE
 * or DELETE, of the partitions it changes); billed, each table rounded up to the MB with 10 MB
 * at least (BigQuery's minimum per table referenced), so a statement that reads a table bills
 * 10 MB even when the partitions it reads are empty.
 */
const costOf = async (duck: Duck, planned: Planned, parameters: Parameters) => {
  // Per table referenced: a self-join references its table twice; a DML target's t' is its own reference's.
  const perReference = new Map<TableRef, number>()
  for (const read of planned.reads) perReference.set(read.ref, (perReference.get(read.ref) ?? 0) + (await bytesRead(duck, parameters, read)))
  const bytes = [...perReference.values()]
  return {
    processed: bytes.reduce((a, b) => a + b, 0),
    billed: bytes.reduce((a, b) => a + Math.max(10 * MiB, Math.ceil(b / MiB) * MiB), 0)
  }
}

/** BigQuery's names for result columns: an expression without an alias is `f0_`, `f1_`, …; duplicates are refused. */
const resultNames = (names: ReadonlyArray<string>) => {
  let anonymous = 0
  const out = names.map((n) => (/^[A-Za-z_][A-Za-z0-9_]*$/.test(n) ? n : `f${anonymous++}_`))
  const duplicate = out.find((n, i) => out.findIndex((m) => m.toLowerCase() === n.toLowerCase()) !== i)
  if (duplicate !== undefined) throw invalidQuery(`Duplicate column names in the result are not supported. Found duplicate(s): ${duplicate}`)
  return out
}

const resultOf = (reader: DuckDBResultReader): ResultSet => {
  const types = reader.columnTypes()
  const names = resultNames(reader.columnNames())
  const rows = reader.getRows()
  for (const row of rows) row.forEach((v, i) => checkNoNullElements(types[i]!, v, names[i]!))
  return { schema: names.map((n, i) => fieldSchemaOf(n, types[i]!)), types, rows }
}

const execute = async (duck: Duck, statements: ReadonlyArray<Planned>, parameters: Parameters) => {
  let inTransaction = false
  let affected: number | undefined
  let result: ResultSet | undefined
  try {
    for (const s of statements) {
      if (s.kind === "BEGIN" && inTransaction) throw invalidQuery("Transaction is already in progress")
      if ((s.kind === "COMMIT" || s.kind === "ROLLBACK") && !inTransaction) throw invalidQuery(`Cannot ${s.kind} TRANSACTION: no transaction is in progress`)
      const reader = await duck.run(s.sql, bindingsOf(parameters, s.params)).catch((e: unknown) => {
        throw e instanceof BigQueryError ? e : duckFailure(e)
      })
      if (s.kind === "BEGIN") inTransaction = true
      if (s.kind === "COMMIT" || s.kind === "ROLLBACK") inTransaction = false
      if (s.kind === "SELECT") result = resultOf(reader)
      if (DML.has(s.kind)) affected = (affected ?? 0) + reader.rowsChanged
    }
    if (inTransaction) throw invalidQuery("Transaction was not committed: the script ended inside BEGIN TRANSACTION")
  } catch (e) {
    if (inTransaction) await duck.run("ROLLBACK")
    throw e
  }
  return { affected, result }
}

/** The schema the last SELECT would answer with, for a dry run (which validates every statement with DuckDB, running none). */
const dryRunOf = async (duck: Duck, statements: ReadonlyArray<Planned>, parameters: Parameters) => {
  let result: ResultSet | undefined
  const refused = (e: unknown) => {
    throw duckFailure(e)
  }
  for (const s of statements.filter((s) => !["BEGIN", "COMMIT", "ROLLBACK"].includes(s.kind))) {
    if (s.kind !== "SELECT") {
      await duck.validate(s.sql).catch(refused)
      continue
    }
    const columns = await duck.describe(s.sql, bindingsOf(parameters, s.params)).catch(refused)
    const names = resultNames(columns.map((c) => c.name))
    result = { schema: columns.map((c, i) => fieldSchemaOf(names[i]!, c.type)), types: columns.map((c) => c.type), rows: [] }
  }
  return result
}

/** Runs a query job (call it inside `duck.exclusive`); throws a `BigQueryError` for a failed job. */
export const runQuery = async (duck: Duck, catalog: Catalog, request: QueryRequest): Promise<QueryOutcome> => {
  const parameters = parametersOf(request)
  const statements = statementsOf(request.query).map((s) => plan(s, catalog, request.defaultDataset))
  if (statements.length === 0) throw invalidQuery("Syntax error: Unexpected end of script")
  for (const s of statements) bindingsOf(parameters, s.params)
  const costs = []
  for (const s of statements) costs.push(await costOf(duck, s, parameters))
  const processed = costs.reduce((a, c) => a + c.processed, 0)
  const billed = costs.reduce((a, c) => a + c.billed, 0)
  if (!request.dryRun && request.maximumBytesBilled !== undefined && billed > Number(request.maximumBytesBilled)) {
    throw new BigQueryError("bytesBilledLimitExceeded", `Query exceeded limit for bytes billed: ${request.maximumBytesBilled}. ${billed} or higher required.`)
  }
  const single = statements.length === 1 && !["BEGIN", "COMMIT", "ROLLBACK"].includes(statements[0]!.kind)
  const tables = [...new Map(statements.flatMap((s) => s.tables).map((t) => [duckName(t), { datasetId: t.dataset, tableId: t.table }])).values()]
  const outcome = { statementType: single ? statements[0]!.kind : "SCRIPT", bytesProcessed: processed, referencedTables: tables }
  if (request.dryRun) return { ...outcome, bytesBilled: undefined, dmlAffectedRows: undefined, result: await dryRunOf(duck, statements, parameters) }
  const { affected, result } = await execute(duck, statements, parameters)
  return { ...outcome, bytesBilled: billed, dmlAffectedRows: affected, result }
}
