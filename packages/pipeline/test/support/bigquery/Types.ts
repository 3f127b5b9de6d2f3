import {
  BIGINT,
  BLOB,
  blobValue,
  BOOLEAN,
  DATE,
  dateValue,
  DECIMAL,
  decimalValue,
  DOUBLE,
  type DuckDBBlobValue,
  type DuckDBDateValue,
  type DuckDBDecimalValue,
  type DuckDBListValue,
  type DuckDBStructValue,
  type DuckDBTimestampTZValue,
  type DuckDBTimestampValue,
  type DuckDBType,
  DuckDBTypeId,
  type DuckDBValue,
  LIST,
  listValue,
  STRUCT,
  structValue,
  TIMESTAMP,
  TIMESTAMPTZ,
  timestampTZValue,
  timestampValue,
  VARCHAR
} from "@duckdb/node-api"
import { invalidQuery } from "./Errors.js"

/**
 * BigQuery's types as the test server models them, and their DuckDB counterparts: the DDL of a
 * table, values of query parameters and of loaded rows (BigQuery's JSON forms → DuckDB values),
 * query results (DuckDB values → BigQuery's `{ f: [{ v }] }` wire form), and the stored size of
 * a value for the on-demand billing model.
 */
export type Scalar = "STRING" | "BYTES" | "INT64" | "FLOAT64" | "NUMERIC" | "BOOL" | "DATE" | "TIMESTAMP" | "DATETIME"

export type BqType =
  | { readonly kind: Scalar }
  | { readonly kind: "ARRAY"; readonly element: BqType }
  | { readonly kind: "STRUCT"; readonly fields: ReadonlyArray<{ readonly name: string; readonly type: BqType }> }

/** A column of a table resource's schema, as the REST API writes it. */
export interface TableFieldSchema {
  readonly name: string
  readonly type: string
  readonly mode?: string
  readonly fields?: ReadonlyArray<TableFieldSchema>
}

/** A column as the server uses it. */
export interface Column {
  readonly name: string
  readonly type: BqType
  readonly required: boolean
}

const SCALAR_NAMES: Record<string, Scalar> = {
  STRING: "STRING",
  BYTES: "BYTES",
  INT64: "INT64",
  INTEGER: "INT64",
  INT: "INT64",
  BIGINT: "INT64",
  SMALLINT: "INT64",
  TINYINT: "INT64",
  BYTEINT: "INT64",
  FLOAT64: "FLOAT64",
  FLOAT: "FLOAT64",
  NUMERIC: "NUMERIC",
  DECIMAL: "NUMERIC",
  BOOL: "BOOL",
  BOOLEAN: "BOOL",
  DATE: "DATE",
  TIMESTAMP: "TIMESTAMP",
  DATETIME: "DATETIME"
}

/** The scalar type a BigQuery type name stands for (`INTEGER` and `INT64` alike), if the server supports it. */
export const scalarNamed = (name: string): Scalar | undefined => SCALAR_NAMES[name.toUpperCase()]

const scalarOrFail = (name: string, where: string): Scalar => {
  const scalar = scalarNamed(name)
  if (scalar === undefined) throw invalidQuery(`Type ${name} (${where}) is not supported by the BigQuery test server`)
  return scalar
}

export const columnOf = (field: TableFieldSchema): Column => {
  const base: BqType =
    field.type === "RECORD" || field.type === "STRUCT"
      ? { kind: "STRUCT", fields: (field.fields ?? []).map((f) => ({ name: f.name, type: columnOf(f).type })) }
      : { kind: scalarOrFail(field.type, `field ${field.name}`) }
  return { name: field.name, type: field.mode === "REPEATED" ? { kind: "ARRAY", element: base } : base, required: field.mode === "REQUIRED" }
}

/** A query parameter's `parameterType`, as the client sends it. */
export interface ParameterType {
  readonly type: string
  readonly arrayType?: ParameterType
  readonly structTypes?: ReadonlyArray<{ readonly name?: string; readonly type: ParameterType }>
}

export const parameterTypeOf = (t: ParameterType, name: string): BqType => {
  if (t.type === "ARRAY") return { kind: "ARRAY", element: parameterTypeOf(t.arrayType!, name) }
  if (t.type === "STRUCT") return { kind: "STRUCT", fields: (t.structTypes ?? []).map((f) => ({ name: f.name ?? "", type: parameterTypeOf(f.type, name) })) }
  return { kind: scalarOrFail(t.type, `parameter ${name}`) }
}

/** A query parameter's `parameterValue`, as the client sends it. */
export interface ParameterValue {
  readonly value?: unknown
  readonly arrayValues?: ReadonlyArray<ParameterValue>
  readonly structValues?: Readonly<Record<string, ParameterValue>>
}

/**
 * A parameter value in the JSON form rows are loaded in, so that one conversion serves both. A
 * scalar without a `value` (not even `null`) is refused: that is what the client sends for a DATE
 * or TIMESTAMP given as a plain string (its `_getValue` reads `.value` of a BigQueryDate), and
 * BigQuery would take it for NULL, silently.
 */
export const parameterJson = (type: BqType, v: ParameterValue | undefined, path: string): unknown => {
  if (type.kind === "ARRAY") return v?.arrayValues?.map((item, i) => parameterJson(type.element, item, `${path}[${i}]`)) ?? null
  if (type.kind === "STRUCT") {
    return v?.structValues === undefined ? null : Object.fromEntries(type.fields.map((f) => [f.name, parameterJson(f.type, v.structValues?.[f.name], `${path}.${f.name}`)]))
  }
  if (v === undefined || !("value" in v)) {
    throw new Error(
      `no value at ${path} (@google-cloud/bigquery sends none for a ${type.kind} given as a plain string: ` +
        "pass BigQuery.date(…), BigQuery.timestamp(…) or a Date; a NULL is sent as { value: null })"
    )
  }
  return v.value
}

const SCALAR_DDL: Record<Scalar, string> = {
  STRING: "VARCHAR",
  BYTES: "BLOB",
  INT64: "BIGINT",
  FLOAT64: "DOUBLE",
  NUMERIC: "DECIMAL(38,9)",
  BOOL: "BOOLEAN",
  DATE: "DATE",
  TIMESTAMP: "TIMESTAMPTZ",
  DATETIME: "TIMESTAMP"
}

export const quoteIdent = (name: string) => `"${name.replaceAll('"', '""')}"`

/** The DuckDB type of a BigQuery type, as SQL text (for DDL and casts). */
export const duckTypeSql = (type: BqType): string =>
  type.kind === "ARRAY"
    ? `${duckTypeSql(type.element)}[]`
    : type.kind === "STRUCT"
      ? `STRUCT(${type.fields.map((f) => `${quoteIdent(f.name)} ${duckTypeSql(f.type)}`).join(", ")})`
      : SCALAR_DDL[type.kind]

const SCALAR_DUCK: Record<Scalar, DuckDBType> = {
  STRING: VARCHAR,
  BYTES: BLOB,
  INT64: BIGINT,
  FLOAT64: DOUBLE,
  NUMERIC: DECIMAL(38, 9),
  BOOL: BOOLEAN,
  DATE,
  TIMESTAMP: TIMESTAMPTZ,
  DATETIME: TIMESTAMP
}

/** The DuckDB type of a BigQuery type, for binding values. */
export const duckType = (type: BqType): DuckDBType =>
  type.kind === "ARRAY"
    ? LIST(duckType(type.element))
    : type.kind === "STRUCT"
      ? STRUCT(Object.fromEntries(type.fields.map((f) => [f.name, duckType(f.type)])))
      : SCALAR_DUCK[type.kind]

const DAY_MS = 86_400_000

/** Days since the epoch of a `YYYY-MM-DD` date, or undefined if it is not a valid date. */
export const parseDate = (text: string): number | undefined => {
  const m = /^(\d{4})-(\d{1,2})-(\d{1,2})$/.exec(text)
  if (m === null) return undefined
  const [y, mo, d] = [Number(m[1]), Number(m[2]), Number(m[3])]
  const ms = Date.UTC(y, mo - 1, d)
  const back = new Date(ms)
  return back.getUTCFullYear() === y && back.getUTCMonth() === mo - 1 && back.getUTCDate() === d ? ms / DAY_MS : undefined
}

/**
 * Microseconds since the epoch of a timestamp in BigQuery's text forms: RFC 3339
 * (`2024-01-02T03:04:05.123456Z`, `+02:00`), `YYYY-MM-DD HH:MM:SS[.ffffff][ UTC]`, or a date alone
 * (midnight UTC); no zone means UTC. `zoned: false` reads a DATETIME (no zone allowed).
 */
export const parseTimestampMicros = (text: string, zoned = true): bigint | undefined => {
  const m = /^(\d{4}-\d{1,2}-\d{1,2})(?:[Tt ](\d{1,2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?)?\s*(Z|z|UTC|[+-]\d{2}(?::?\d{2})?)?$/.exec(text.trim())
  if (m === null || (!zoned && m[6] !== undefined)) return undefined
  const days = parseDate(m[1]!)
  const [h, mi, s] = [Number(m[2] ?? 0), Number(m[3] ?? 0), Number(m[4] ?? 0)]
  if (days === undefined || h > 23 || mi > 59 || s > 59) return undefined
  const zone = /^([+-])(\d{2}):?(\d{2})?$/.exec(m[6] ?? "")
  const offsetMinutes = zone === null ? 0 : (zone[1] === "-" ? -1 : 1) * (Number(zone[2]) * 60 + Number(zone[3] ?? 0))
  const micros = BigInt((m[5] ?? "").padEnd(6, "0").slice(0, 6) || "0")
  const seconds = days * 86_400 + h * 3600 + mi * 60 + s - offsetMinutes * 60
  return BigInt(seconds) * 1_000_000n + micros
}

/** A NUMERIC's value scaled by 10^9, or undefined if the text is not a number with at most 29 digits and 9 decimals. */
const parseNumeric = (text: string): bigint | undefined => {
  const m = /^([+-]?)(\d{1,29})(?:\.(\d{0,9}))?$/.exec(text.trim())
  if (m === null) return undefined
  const scaled = BigInt(m[2]!) * 10n ** 9n + BigInt((m[3] ?? "").padEnd(9, "0"))
  return m[1] === "-" ? -scaled : scaled
}

const INT64_MAX = 2n ** 63n - 1n

/**
 * The DuckDB value of a value in BigQuery's JSON form (a loaded row's field, or a query
 * parameter's value): numbers and strings as BigQuery accepts them for each type. Throws a
 * message naming the field (`path`) for a value that does not fit. A loaded array cannot hold a
 * NULL; an array parameter can.
 */
export const fromJson = (type: BqType, v: unknown, path: string, nullElements: "refused" | "allowed" = "refused"): DuckDBValue => {
  const bad = (): never => {
    throw new Error(`Could not convert value to ${type.kind === "ARRAY" ? "array" : type.kind === "STRUCT" ? "record" : type.kind}. Field: ${path}; Value: ${JSON.stringify(v)}`)
  }
  if (v === null || v === undefined) return type.kind === "ARRAY" ? listValue([]) : null
  switch (type.kind) {
    case "ARRAY":
      if (!Array.isArray(v)) return bad()
      return listValue(
        v.map((item, i) => {
          if (item === null && nullElements === "refused") throw new Error(`Array cannot have a null element. Field: ${path}[${i}]`)
          return fromJson(type.element, item, `${path}[${i}]`, nullElements)
        })
      )
    case "STRUCT": {
      if (typeof v !== "object" || Array.isArray(v)) return bad()
      const record = v as Record<string, unknown>
      const unknown = Object.keys(record).find((k) => !type.fields.some((f) => f.name === k))
      if (unknown !== undefined) throw new Error(`No such field: ${path}.${unknown}.`)
      return structValue(Object.fromEntries(type.fields.map((f) => [f.name, fromJson(f.type, record[f.name], `${path}.${f.name}`, nullElements)])))
    }
    case "STRING":
      return typeof v === "string" ? v : bad()
    case "BYTES":
      return typeof v === "string" && /^[A-Za-z0-9+/]*={0,2}$/.test(v) ? blobValue(Buffer.from(v, "base64")) : bad()
    case "INT64": {
      const text = typeof v === "number" && Number.isSafeInteger(v) ? String(v) : typeof v === "string" ? v.trim() : ""
      if (!/^[+-]?\d+$/.test(text)) return bad()
      const n = BigInt(text)
      return n > INT64_MAX || n < -INT64_MAX - 1n ? bad() : n
    }
    case "FLOAT64": {
      const n = typeof v === "number" ? v : typeof v === "string" && v.trim() !== "" ? Number(v) : Number.NaN
      return Number.isNaN(n) && v !== "NaN" ? bad() : n
    }
    case "NUMERIC": {
      const scaled = typeof v === "number" || typeof v === "string" ? parseNumeric(String(v)) : undefined
      return scaled === undefined ? bad() : decimalValue(scaled, 38, 9)
    }
    case "BOOL":
      return typeof v === "boolean" ? v : typeof v === "string" && /^(true|false)$/i.test(v) ? v.toLowerCase() === "true" : bad()
    case "DATE": {
      const days = typeof v === "string" ? parseDate(v) : undefined
      return days === undefined ? bad() : dateValue(days)
    }
    case "TIMESTAMP": {
      // Numbers (and numeric strings) are seconds since the epoch.
      const seconds = typeof v === "number" ? v : typeof v === "string" && /^[+-]?\d+(\.\d+)?$/.test(v) ? Number(v) : undefined
      const micros = seconds !== undefined ? BigInt(Math.round(seconds * 1e6)) : typeof v === "string" ? parseTimestampMicros(v) : undefined
      return micros === undefined ? bad() : timestampTZValue(micros)
    }
    case "DATETIME": {
      const micros = typeof v === "string" ? parseTimestampMicros(v, false) : undefined
      return micros === undefined ? bad() : timestampValue(micros)
    }
  }
}

/** A query result column in the REST form, from its DuckDB type (BigQuery answers with the legacy type names). */
export const fieldSchemaOf = (name: string, type: DuckDBType): TableFieldSchema => {
  switch (type.typeId) {
    case DuckDBTypeId.LIST:
      if (type.valueType.typeId === DuckDBTypeId.LIST) throw invalidQuery(`Cannot construct array with element type array (column ${name})`)
      return { ...fieldSchemaOf(name, type.valueType), mode: "REPEATED" }
    case DuckDBTypeId.STRUCT:
      return { name, type: "RECORD", mode: "NULLABLE", fields: type.entryNames.map((n, i) => fieldSchemaOf(n, type.entryTypes[i]!)) }
    default:
      return { name, type: legacyNameOf(type, name), mode: "NULLABLE" }
  }
}

const legacyNameOf = (type: DuckDBType, column: string): string => {
  switch (type.typeId) {
    case DuckDBTypeId.VARCHAR:
      return "STRING"
    case DuckDBTypeId.BOOLEAN:
      return "BOOLEAN"
    case DuckDBTypeId.TINYINT:
    case DuckDBTypeId.SMALLINT:
    case DuckDBTypeId.INTEGER:
    case DuckDBTypeId.BIGINT:
    case DuckDBTypeId.HUGEINT:
    case DuckDBTypeId.UTINYINT:
    case DuckDBTypeId.USMALLINT:
    case DuckDBTypeId.UINTEGER:
    case DuckDBTypeId.UBIGINT:
      return "INTEGER"
    case DuckDBTypeId.FLOAT:
    case DuckDBTypeId.DOUBLE:
      return "FLOAT"
    case DuckDBTypeId.DECIMAL:
      return type.scale <= 9 && type.width - type.scale <= 29 ? "NUMERIC" : "BIGNUMERIC"
    case DuckDBTypeId.DATE:
      return "DATE"
    case DuckDBTypeId.TIMESTAMP_TZ:
      return "TIMESTAMP"
    case DuckDBTypeId.TIMESTAMP:
      return "DATETIME"
    case DuckDBTypeId.BLOB:
      return "BYTES"
    default:
      throw invalidQuery(`Result type ${type.toString()} (column ${column}) is not supported by the BigQuery test server`)
  }
}

/** How TIMESTAMP values go on the wire, as the request's `formatOptions` ask. */
export type TimestampFormat = "int64" | "float" | "iso"

const isoOfMicros = (micros: bigint) => {
  const ms = micros / 1000n - (micros % 1000n < 0n ? 1n : 0n)
  const fraction = ((micros % 1_000_000n) + 1_000_000n) % 1_000_000n
  return `${new Date(Number(ms)).toISOString().slice(0, 19)}.${String(fraction).padStart(6, "0")}`
}

const timestampWire = (micros: bigint, format: TimestampFormat) => {
  if (format === "int64") return String(micros)
  if (format === "iso") return `${isoOfMicros(micros)}Z`
  const sign = micros < 0n ? "-" : ""
  const abs = micros < 0n ? -micros : micros
  return `${sign}${abs / 1_000_000n}.${String(abs % 1_000_000n).padStart(6, "0")}`
}

/** `1.500000000` as BigQuery writes it: `1.5`. */
const trimDecimal = (text: string) => (text.includes(".") ? text.replace(/0+$/, "").replace(/\.$/, "") : text)

/** A value in the wire form of `tabledata.list` and `getQueryResults`: strings, `[{ v }]` for arrays, `{ f: [{ v }] }` for records. */
export const wireValue = (type: DuckDBType, v: DuckDBValue, format: TimestampFormat): unknown => {
  if (type.typeId === DuckDBTypeId.LIST) return v === null ? [] : (v as DuckDBListValue).items.map((item) => ({ v: wireValue(type.valueType, item, format) }))
  if (v === null) return null
  switch (type.typeId) {
    case DuckDBTypeId.STRUCT:
      return { f: type.entryNames.map((n, i) => ({ v: wireValue(type.entryTypes[i]!, (v as DuckDBStructValue).entries[n] ?? null, format) })) }
    case DuckDBTypeId.DECIMAL:
      return trimDecimal((v as DuckDBDecimalValue).toString())
    case DuckDBTypeId.DATE:
      return (v as DuckDBDateValue).toString()
    case DuckDBTypeId.TIMESTAMP_TZ:
      return timestampWire((v as DuckDBTimestampTZValue).micros, format)
    case DuckDBTypeId.TIMESTAMP:
      return isoOfMicros((v as DuckDBTimestampValue).micros).replace(/\.000000$/, "")
    case DuckDBTypeId.BLOB:
      return Buffer.from((v as DuckDBBlobValue).bytes).toString("base64")
    default:
      return String(v)
  }
}

/** Throws BigQuery's error for a result holding an array with a NULL element (BigQuery cannot return one). */
export const checkNoNullElements = (type: DuckDBType, v: DuckDBValue, column: string): void => {
  if (v === null) return
  if (type.typeId === DuckDBTypeId.LIST) {
    for (const item of (v as DuckDBListValue).items) {
      if (item === null) throw invalidQuery(`Array cannot have a null element; error in writing field ${column}`)
      checkNoNullElements(type.valueType, item, column)
    }
  } else if (type.typeId === DuckDBTypeId.STRUCT) {
    type.entryNames.forEach((n, i) => checkNoNullElements(type.entryTypes[i]!, (v as DuckDBStructValue).entries[n] ?? null, `${column}.${n}`))
  }
}

const SCALAR_SIZE: Record<Scalar, (e: string) => string> = {
  STRING: (e) => `(2 + strlen(${e}))`,
  BYTES: (e) => `(2 + octet_length(${e}))`,
  INT64: () => "8",
  FLOAT64: () => "8",
  NUMERIC: () => "16",
  BOOL: () => "1",
  DATE: () => "8",
  TIMESTAMP: () => "8",
  DATETIME: () => "8"
}

/**
 * A DuckDB expression for the stored size of `expr` under BigQuery's on-demand model: STRING is
 * 2 bytes plus its UTF-8 length, INT64/FLOAT64/DATE/TIMESTAMP 8, BOOL 1, NUMERIC 16, NULL 0, an
 * array the sum of its elements, a record the sum of its fields.
 */
export const sizeSql = (type: BqType, expr: string, depth = 0): string => {
  if (type.kind === "ARRAY") {
    const x = `_x${depth}`
    return `COALESCE(list_sum(list_transform(${expr}, lambda ${x}: ${sizeSql(type.element, x, depth + 1)})), 0)`
  }
  const size = type.kind === "STRUCT" ? type.fields.map((f) => sizeSql(f.type, `struct_extract(${expr}, '${f.name.replaceAll("'", "''")}')`, depth)).join(" + ") || "0" : SCALAR_SIZE[type.kind](expr)
  return `(CASE WHEN ${expr} IS NULL THEN 0 ELSE ${size} END)`
}
