import { invalidQuery, unsupported } from "./Errors.js"
import { isSubquery, isSymbol, type Node, RESERVED, splitArgs, wordOf } from "./Sql.js"
import { duckTypeSql, quoteIdent, scalarNamed } from "./Types.js"

/**
 * BigQuery Standard SQL → DuckDB, as a small set of rules over the token tree (`Sql.ts`), each
 * for one construct: table names, string literals, parameters, typed literals, intervals,
 * `IN UNNEST`, `UNNEST ... AS x`, and the functions in `FUNCTIONS` and `NATIVE`. A function call
 * that no rule knows fails with `invalidQuery` naming it; so do the syntax forms checked in
 * `wordRule`. What is left passes through as it is (keywords, operators, column names): the two
 * dialects agree there, and where they do not, DuckDB fails loudly.
 *
 * DuckDB runs with `TimeZone = 'UTC'` (BigQuery's default zone for DATE(ts), EXTRACT, …) and
 * BigQuery's NULL ordering (first ascending, last descending); see `BigQueryServer.ts`.
 */

/** A table named in a statement, where it is (its level of the tree and index there) and what it is for. */
export interface TableRef {
  readonly items: ReadonlyArray<Node>
  readonly start: number
  /** The index after its name (before any alias). */
  readonly end: number
  /** The name's parts as written: `project.dataset.table`, `dataset.table` or `table`. */
  readonly path: ReadonlyArray<string>
  readonly alias: string | undefined
  /** `read` for tables a statement reads (or updates, deletes from, merges into); `insert` and `truncate` targets read nothing. */
  readonly role: "read" | "insert" | "truncate"
}

/** The words after which a table name comes, and its role there. */
const TABLE_AFTER: Record<string, TableRef["role"]> = { FROM: "read", JOIN: "read", USING: "read", UPDATE: "read", DELETE: "read", MERGE: "read" }

/** The role of a table named right after `node` (itself after the word `previous`), if a table may be named there. */
const roleAfter = (node: Node, previous: string | undefined, inFrom: boolean): TableRef["role"] | undefined => {
  const w = wordOf(node)
  if (w === "INTO") return previous === "MERGE" ? "read" : "insert"
  if (w === "INSERT") return previous === "THEN" ? undefined : "insert" // a MERGE's THEN INSERT (cols) names none
  if (w === "TABLE") return previous === "TRUNCATE" ? "truncate" : undefined
  if (isSymbol(node, ",")) return inFrom ? "read" : undefined
  return w === undefined ? undefined : TABLE_AFTER[w]
}
/** The words that end a FROM clause (where a comma introduces another table). */
const FROM_ENDS = new Set(["WHERE", "GROUP", "HAVING", "QUALIFY", "WINDOW", "ORDER", "LIMIT", "UNION", "INTERSECT", "EXCEPT", "SET", "WHEN", "SELECT"])

/** A table name starts here (a word followed by a group is a call, except for the column list of an INSERT). */
const isName = (node: Node | undefined, next: Node | undefined, role: TableRef["role"]) =>
  node?.kind === "quoted" || (node?.kind === "word" && !RESERVED.has(node.text.toUpperCase()) && (role === "insert" || next?.kind !== "group"))

/** The parts of the dotted name starting at `i`, and where it ends. */
const readName = (items: ReadonlyArray<Node>, i: number) => {
  const path: Array<string> = []
  let j = i
  for (;;) {
    const node = items[j]!
    path.push(...(node.kind === "quoted" ? node.parts : [(node as { text: string }).text]))
    j++
    if (!isSymbol(items[j], ".") || !(items[j + 1]?.kind === "word" || items[j + 1]?.kind === "quoted")) return { path, end: j }
    j++
  }
}

const readAlias = (items: ReadonlyArray<Node>, i: number): { name: string; end: number } | undefined => {
  const at = wordOf(items[i]) === "AS" ? i + 1 : i
  const node = items[at]
  if (node?.kind === "quoted") return { name: node.parts.join("."), end: at + 1 }
  if (node?.kind === "word" && !RESERVED.has(node.text.toUpperCase()) && wordOf(node) !== "VALUES") return { name: node.text, end: at + 1 }
  return undefined
}

/** The names the statement's WITH clauses define (at any level). */
const cteNames = (items: ReadonlyArray<Node>, names = new Set<string>()) => {
  items.forEach((node, i) => {
    if (node.kind === "group") cteNames(node.items, names)
    const before = items[i - 1]
    const introduced = wordOf(before) === "WITH" || wordOf(before) === "RECURSIVE" || isSymbol(before, ",")
    if (introduced && (node.kind === "word" || node.kind === "quoted") && wordOf(items[i + 1]) === "AS" && isSubquery(items[i + 2])) {
      names.add((node.kind === "word" ? node.text : node.parts.join(".")).toLowerCase())
    }
  })
  return names
}

/** The tables a statement names, at every level, leaving out the names of its WITH clauses. */
export const tableRefs = (statement: ReadonlyArray<Node>): Array<TableRef> => {
  const ctes = cteNames(statement)
  const refs: Array<TableRef> = []
  const scan = (items: ReadonlyArray<Node>) => {
    let expect: TableRef["role"] | undefined
    let inFrom = false
    for (let i = 0; i < items.length; i++) {
      const node = items[i]!
      if (expect !== undefined && isName(node, items[i + 1], expect)) {
        const { path, end } = readName(items, i)
        const alias = expect === "read" ? readAlias(items, end) : undefined
        if (!(path.length === 1 && ctes.has(path[0]!.toLowerCase()))) refs.push({ items, start: i, end, path, alias: alias?.name, role: expect })
        i = (alias?.end ?? end) - 1
        expect = undefined
        continue
      }
      const previous = wordOf(items[i - 1])
      if (node.kind === "group" && previous !== "EXTRACT") scan(node.items) // EXTRACT(part FROM x) names no table
      expect = roleAfter(node, previous, inFrom)
      const w = wordOf(node)
      if (w === "FROM") inFrom = true
      if (FROM_ENDS.has(w ?? "")) inFrom = false
    }
  }
  scan(statement)
  return refs
}

export type StatementKind = "SELECT" | "INSERT" | "UPDATE" | "DELETE" | "MERGE" | "TRUNCATE_TABLE" | "BEGIN" | "COMMIT" | "ROLLBACK"

const TRANSACTION_CONTROL: Record<string, string> = { BEGIN: "BEGIN TRANSACTION", COMMIT: "COMMIT", ROLLBACK: "ROLLBACK" }

export const kindOf = (statement: ReadonlyArray<Node>): StatementKind => {
  const first = wordOf(statement[0])
  if (first === "SELECT" || first === "WITH" || statement[0]?.kind === "group") return "SELECT"
  if (first === "TRUNCATE" && wordOf(statement[1]) === "TABLE") return "TRUNCATE_TABLE"
  if (first !== undefined && TRANSACTION_CONTROL[first] !== undefined) {
    if (statement.length > 2 || (statement.length === 2 && wordOf(statement[1]) !== "TRANSACTION")) throw unsupported(`${first} ${first === "BEGIN" ? "... END blocks" : "with options"}`)
    return first as StatementKind
  }
  if (first === "INSERT" || first === "UPDATE" || first === "DELETE" || first === "MERGE") return first
  throw unsupported(`${first ?? "this kind of"} statements`)
}

/** BigQuery's DML keywords it lets one leave out, which DuckDB needs: `INSERT t` is `INSERT INTO t`. */
const OPTIONAL_KEYWORD: Record<string, string> = { INSERT: "INTO", DELETE: "FROM", MERGE: "INTO" }

const stringLiteral = (value: string) => `'${value.replaceAll("'", "''")}'`

type Args = ReadonlyArray<ReadonlyArray<Node>>
type Render = (nodes: ReadonlyArray<Node>) => string
type Rule = (args: Args, tr: Render, name: string) => string

const arity = (args: Args, name: string, min: number, max = min) => {
  if (args.length < min || args.length > max) throw invalidQuery(`No matching signature for function ${name} with ${args.length} argument(s)`)
}

/** A date part argument (`DAY`, `MONTH`, …) among those the rule translates faithfully, lower-cased. */
const partOf = (arg: ReadonlyArray<Node>, name: string, allowed: ReadonlyArray<string>) => {
  const part = arg.length === 1 ? wordOf(arg[0]) : undefined
  if (part === undefined || !allowed.includes(part)) throw unsupported(`${name} with date part ${arg.map((n) => (n.kind === "word" ? n.text : "…")).join(" ")}`)
  return `'${part.toLowerCase()}'`
}

const interval = (arg: ReadonlyArray<Node>, name: string, tr: Render) => {
  if (wordOf(arg[0]) !== "INTERVAL") throw invalidQuery(`${name} needs an INTERVAL as its second argument`)
  return tr(arg)
}

const DATE_PARTS = ["DAY", "MONTH", "QUARTER", "YEAR"]
const TIME_PARTS = ["MICROSECOND", "MILLISECOND", "SECOND", "MINUTE", "HOUR", "DAY"]
const INTERVAL_UNITS = new Set([...TIME_PARTS, "WEEK", "MONTH", "QUARTER", "YEAR"])
const EXTRACT_PARTS = new Set(["YEAR", "QUARTER", "MONTH", "DAY", "HOUR", "MINUTE", "SECOND"])

/** Where a top-level `AS` splits `expr AS name` (the last one, as in `CAST(x AS T)`), or -1. */
const lastAs = (arg: ReadonlyArray<Node>) => arg.findLastIndex((n) => wordOf(n) === "AS")

const cast =
  (fn: string): Rule =>
  (args, tr, name) => {
    arity(args, name, 1)
    const arg = args[0]!
    const at = lastAs(arg)
    const target = arg.length === at + 2 && arg[at + 1]!.kind === "word" ? scalarNamed((arg[at + 1] as { text: string }).text) : undefined
    if (at < 0 || target === undefined) throw unsupported(`${name} to this type`)
    return `${fn}(${tr(arg.slice(0, at))} AS ${duckTypeSql({ kind: target })})`
  }

const structField = (arg: ReadonlyArray<Node>, tr: Render) => {
  const at = lastAs(arg)
  const named = at >= 0 ? arg[at + 1] : arg.at(-1)
  const path = at >= 0 ? arg.slice(0, at) : arg
  const name = named?.kind === "word" ? named.text : named?.kind === "quoted" ? named.parts.at(-1) : undefined
  if (name === undefined || (at < 0 && !path.every((n, i) => (i % 2 === 1 ? isSymbol(n, ".") : n.kind === "word" || n.kind === "quoted")))) {
    throw unsupported("STRUCT fields without a name (give each one AS name)")
  }
  return `${quoteIdent(name)} := ${tr(path)}`
}

/** The functions whose translation is more than a rename. */
const FUNCTIONS: Record<string, Rule> = {
  CAST: cast("CAST"),
  SAFE_CAST: cast("TRY_CAST"),
  DATE: (a, tr, name) => {
    arity(a, name, 1, 3)
    if (a.length === 3) return `make_date(${a.map(tr).join(", ")})`
    return a.length === 2 ? `CAST(timezone(${tr(a[1]!)}, ${tr(a[0]!)}) AS DATE)` : `CAST(${tr(a[0]!)} AS DATE)`
  },
  TIMESTAMP: (a, tr, name) => {
    arity(a, name, 1, 2)
    return a.length === 2 ? `timezone(${tr(a[1]!)}, CAST(${tr(a[0]!)} AS TIMESTAMP))` : `CAST(${tr(a[0]!)} AS TIMESTAMPTZ)`
  },
  DATE_ADD: (a, tr, name) => (arity(a, name, 2), `CAST((${tr(a[0]!)}) + ${interval(a[1]!, name, tr)} AS DATE)`),
  DATE_SUB: (a, tr, name) => (arity(a, name, 2), `CAST((${tr(a[0]!)}) - ${interval(a[1]!, name, tr)} AS DATE)`),
  TIMESTAMP_ADD: (a, tr, name) => (arity(a, name, 2), `((${tr(a[0]!)}) + ${interval(a[1]!, name, tr)})`),
  TIMESTAMP_SUB: (a, tr, name) => (arity(a, name, 2), `((${tr(a[0]!)}) - ${interval(a[1]!, name, tr)})`),
  // BigQuery's X_DIFF(a, b, part) is a - b; DuckDB's date_diff counts part boundaries, date_sub whole parts.
  DATE_DIFF: (a, tr, name) => (arity(a, name, 3), `date_diff(${partOf(a[2]!, name, DATE_PARTS)}, ${tr(a[1]!)}, ${tr(a[0]!)})`),
  TIMESTAMP_DIFF: (a, tr, name) => (arity(a, name, 3), `date_sub(${partOf(a[2]!, name, TIME_PARTS)}, ${tr(a[1]!)}, ${tr(a[0]!)})`),
  DATE_TRUNC: (a, tr, name) => (arity(a, name, 2), `CAST(date_trunc(${partOf(a[1]!, name, DATE_PARTS)}, ${tr(a[0]!)}) AS DATE)`),
  TIMESTAMP_TRUNC: (a, tr, name) => (arity(a, name, 2), `date_trunc(${partOf(a[1]!, name, [...TIME_PARTS, "MONTH", "QUARTER", "YEAR"])}, ${tr(a[0]!)})`),
  CURRENT_DATE: (a, _, name) => (arity(a, name, 0), "current_date"),
  CURRENT_TIMESTAMP: (a, _, name) => (arity(a, name, 0), "current_timestamp"),
  GENERATE_DATE_ARRAY: (a, tr, name) => {
    arity(a, name, 2, 3)
    const step = a[2] === undefined ? "INTERVAL 1 DAY" : tr(a[2])
    return `list_transform(generate_series(CAST(${tr(a[0]!)} AS DATE), CAST(${tr(a[1]!)} AS DATE), ${step}), lambda _d: CAST(_d AS DATE))`
  },
  FORMAT_DATE: (a, tr, name) => (arity(a, name, 2), `strftime(CAST(${tr(a[1]!)} AS DATE), ${tr(a[0]!)})`),
  SAFE_DIVIDE: (a, tr, name) => (arity(a, name, 2), `((${tr(a[0]!)}) / NULLIF(${tr(a[1]!)}, 0))`),
  // DuckDB's concat skips NULLs; BigQuery's CONCAT is NULL if any argument is, like ||.
  CONCAT: (a, tr, name) => (arity(a, name, 1, Infinity), `(${a.map(tr).join(" || ")})`),
  SPLIT: (a, tr, name) => (arity(a, name, 1, 2), `string_split(${tr(a[0]!)}, ${a[1] === undefined ? "','" : tr(a[1])})`),
  STRUCT: (a, tr, name) => (arity(a, name, 1, Infinity), `struct_pack(${a.map((arg) => structField(arg, tr)).join(", ")})`),
  EXTRACT: (a, tr, name) => {
    arity(a, name, 1)
    const [part, from, ...expr] = a[0]!
    const p = wordOf(part)
    if (wordOf(from) !== "FROM" || expr.some((n) => wordOf(n) === "AT")) throw unsupported("EXTRACT with this syntax")
    if (p === "DATE") return `CAST(${tr(expr)} AS DATE)`
    if (p === "DAYOFWEEK") return `(dayofweek(${tr(expr)}) + 1)` // BigQuery counts Sunday as 1, DuckDB as 0
    if (p === undefined || !EXTRACT_PARTS.has(p)) throw unsupported(`EXTRACT(${p ?? "…"} FROM …)`)
    return `EXTRACT(${p} FROM ${tr(expr)})`
  }
}

/** The functions DuckDB has with BigQuery's meaning, under its name for them. */
const NATIVE: Record<string, string> = {
  ...Object.fromEntries(
    (
      "COUNT SUM MIN MAX AVG COALESCE IFNULL NULLIF IF LOWER UPPER LENGTH TRIM LTRIM RTRIM SUBSTR STARTS_WITH ENDS_WITH " +
      "REPLACE ABS FLOOR CEIL ROUND MOD ROW_NUMBER RANK DENSE_RANK LAG LEAD FIRST_VALUE LAST_VALUE ARRAY_AGG STRING_AGG ANY_VALUE"
    )
      .split(" ")
      .map((f) => [f, f])
  ),
  COUNTIF: "count_if",
  LOGICAL_AND: "bool_and",
  LOGICAL_OR: "bool_or",
  REGEXP_CONTAINS: "regexp_matches",
  ARRAY_LENGTH: "len"
}

/** Words that a parenthesized group may follow without being called: `IN (…)`, `VALUES (…)`, `OVER (…)`, … */
const NOT_CALLS = new Set([...RESERVED, "VALUES", "INSERT", "ROW"])

const TYPED_LITERALS: Record<string, (value: string) => string> = {
  DATE: (v) => `DATE ${stringLiteral(v)}`,
  TIMESTAMP: (v) => `TIMESTAMPTZ ${stringLiteral(v)}`,
  DATETIME: (v) => `TIMESTAMP ${stringLiteral(v)}`,
  NUMERIC: (v) => `CAST(${stringLiteral(v)} AS DECIMAL(38,9))`
}

export interface Translation {
  readonly sql: string
  /** The (lower-cased) names of the parameters the statement uses. */
  readonly params: ReadonlySet<string>
}

/**
 * Translates one statement to DuckDB. `tableName` renders a table reference (`"dataset"."table"`);
 * a word naming one of `columns` (lower-cased) is quoted, since a BigQuery column name may be a
 * DuckDB keyword (`at`, `primary`, …). `nodes` may be the whole statement or a part of it (a
 * bound expression of a partition filter).
 */
export const translate = (
  nodes: ReadonlyArray<Node>,
  refs: ReadonlyArray<TableRef>,
  tableName: (ref: TableRef) => string,
  columns: ReadonlySet<string> = new Set()
): Translation => {
  const params = new Set<string>()
  let unnests = 0
  const refAt = (items: ReadonlyArray<Node>, i: number) => refs.find((r) => r.items === items && r.start === i)

  const tr: Render = (items) => {
    let out = ""
    for (let i = 0; i < items.length; ) {
      const [text, next] = step(items, i)
      out += text
      i = next
    }
    return out
  }

  const step = (items: ReadonlyArray<Node>, i: number): readonly [string, number] => {
    const node = items[i]!
    const ref = refAt(items, i)
    if (ref !== undefined) return [node.pre + tableName(ref), ref.end]
    switch (node.kind) {
      case "group":
        return [`${node.pre}(${tr(node.items)}${node.closePre})`, i + 1]
      case "string":
        return [node.pre + stringLiteral(node.value), i + 1]
      case "quoted":
        return [node.pre + node.parts.map(quoteIdent).join("."), i + 1]
      case "param":
        params.add(node.name.toLowerCase())
        return [`${node.pre}$${node.name.toLowerCase()}`, i + 1]
      case "symbol": {
        const next = items[i + 1]
        if (node.text === "*" && wordOf(next) === "EXCEPT" && items[i + 2]?.kind === "group") return [`${node.pre}*${next!.pre}EXCLUDE`, i + 2]
        return [node.pre + node.text, i + 1]
      }
      case "word":
        return wordRule(items, i, node)
      default:
        return [node.pre + node.text, i + 1]
    }
  }

  const wordRule = (items: ReadonlyArray<Node>, i: number, node: Extract<Node, { kind: "word" }>): readonly [string, number] => {
    const w = node.text.toUpperCase()
    const next = items[i + 1]
    const { pre } = node
    const name = columns.has(node.text.toLowerCase()) && !RESERVED.has(w) && next?.kind !== "group" ? quoteIdent(node.text) : node.text
    if (isSymbol(items[i - 1], ".")) {
      if (next?.kind === "group") throw unsupported(`function ${wordOf(items[i - 2]) ?? ""}.${w}`)
      return [pre + name, i + 1]
    }
    if (i === 0 && items === nodes && OPTIONAL_KEYWORD[w] !== undefined && wordOf(next) !== OPTIONAL_KEYWORD[w]) return [`${pre}${node.text} ${OPTIONAL_KEYWORD[w]}`, i + 1]
    if (i === 0 && items === nodes && TRANSACTION_CONTROL[w] !== undefined) return [pre + TRANSACTION_CONTROL[w], items.length]
    const group = items[i + 2]
    if (w === "IN" && wordOf(next) === "UNNEST" && group?.kind === "group") return [`${pre}IN${next!.pre}(SELECT UNNEST(${tr(group.items)}))`, i + 3]
    if (w === "UNNEST" && next?.kind === "group") return unnest(items, i, next)
    if (next?.kind === "group") {
      const rule = FUNCTIONS[w]
      if (rule !== undefined) return [pre + rule(splitArgs(next.items), tr, w), i + 2]
      if (NATIVE[w] !== undefined) return [`${pre}${NATIVE[w]}(${tr(next.items)}${next.closePre})`, i + 2]
      if (!NOT_CALLS.has(w)) throw unsupported(`function ${node.text}`)
    }
    if (next?.kind === "string" && TYPED_LITERALS[w] !== undefined) return [pre + TYPED_LITERALS[w](next.value), i + 2]
    if (next?.kind === "string" && ["JSON", "BIGNUMERIC", "RANGE", "TIME"].includes(w)) throw unsupported(`${w} literals`)
    if (w === "INTERVAL") {
      const unit = wordOf(items[i + 2])
      if (next === undefined || unit === undefined || !INTERVAL_UNITS.has(unit)) throw unsupported("INTERVAL in this form (use INTERVAL n UNIT)")
      return [`${pre}INTERVAL (${tr([next]).trim()}) ${unit}`, i + 3]
    }
    if ((w === "ARRAY" || w === "STRUCT") && isSymbol(next, "<")) throw unsupported(`typed ${w}<…> literals`)
    if (w === "SELECT" && wordOf(next) === "AS") throw unsupported("SELECT AS STRUCT / SELECT AS VALUE")
    return [pre + name, i + 1]
  }

  /** `UNNEST(xs) AS x` → `UNNEST(xs) AS _u1(x)`: in DuckDB the alias names the column, so `x` (and `x.field`) mean the element, as in BigQuery. */
  const unnest = (items: ReadonlyArray<Node>, i: number, group: Extract<Node, { kind: "group" }>): readonly [string, number] => {
    const alias = readAlias(items, i + 2)
    if (alias === undefined) throw unsupported("UNNEST without an alias (write UNNEST(…) AS name)")
    if (wordOf(items[alias.end]) === "WITH" && wordOf(items[alias.end + 1]) === "OFFSET") throw unsupported("UNNEST … WITH OFFSET")
    return [`${items[i]!.pre}UNNEST(${tr(group.items)}${group.closePre}) AS _u${++unnests}(${quoteIdent(alias.name)})`, alias.end]
  }

  return { sql: tr(nodes), params }
}
