import { isSubquery, isSymbol, type Node, splitArgs, wordOf } from "./Sql.js"
import type { TableRef } from "./Translate.js"

/**
 * What a statement's filter says about a partitioned table's partition column, read from the
 * SQL text (a syntactic check, not BigQuery's planner): the comparisons of the column, or of
 * DATE(column), in the WHERE clause that belongs to the table reference (the ON clause for the
 * tables of a MERGE). `found` answers BigQuery's `require_partition_filter`; the comparisons joined
 * by AND at the top of the clause bound the partitions read (for bytes processed).
 */
export interface PartitionBound {
  readonly op: "=" | "<" | "<=" | ">" | ">=" | "in"
  /** The other side of the comparison; for `in`, the `(…)` list or `UNNEST (…)`. */
  readonly nodes: ReadonlyArray<Node>
  /** The compared value is a DATE (the column is one, or DATE(column)) rather than a TIMESTAMP. */
  readonly dateValued: boolean
}

export interface PartitionFilter {
  readonly found: boolean
  readonly bounds: ReadonlyArray<PartitionBound>
}

const COMPARISONS = new Set(["=", "<", "<=", ">", ">="])
const FLIPPED: Record<string, PartitionBound["op"]> = { "=": "=", "<": ">", "<=": ">=", ">": "<", ">=": "<=" }
/** The clauses that may follow a WHERE (or a MERGE's ON) at the same level. */
const CLAUSE_ENDS = new Set(["GROUP", "HAVING", "QUALIFY", "WINDOW", "ORDER", "LIMIT", "UNION", "INTERSECT", "EXCEPT", "WHEN"])

/** The items of the WHERE (or ON, for a MERGE) that filters `ref`, at its level of the query. */
const filterClause = (ref: TableRef, merge: boolean): ReadonlyArray<Node> => {
  const { items } = ref
  for (let i = ref.end; i < items.length; i++) {
    const w = wordOf(items[i])
    if (w === "WHERE" || (merge && w === "ON")) {
      const end = items.findIndex((n, j) => j > i && (CLAUSE_ENDS.has(wordOf(n) ?? "") || wordOf(n) === "WHERE"))
      return items.slice(i + 1, end < 0 ? items.length : end)
    }
    if (CLAUSE_ENDS.has(w ?? "")) break
  }
  return []
}

/** The segments of a condition between its top-level ANDs and ORs (a BETWEEN keeps its AND). */
const segmentsOf = (items: ReadonlyArray<Node>) => {
  const segments: Array<Array<Node>> = [[]]
  let hasOr = false
  let between = false
  for (const node of items) {
    const w = wordOf(node)
    if ((w === "AND" && !between) || w === "OR") {
      hasOr ||= w === "OR"
      segments.push([])
      continue
    }
    if (w === "BETWEEN") between = true
    if (w === "AND") between = false
    segments.at(-1)!.push(node)
  }
  return { segments: segments.filter((s) => s.length > 0), hasOr }
}

export const partitionFilterOf = (ref: TableRef, column: string, columnIsDate: boolean, merge: boolean): PartitionFilter => {
  const qualifier = (ref.alias ?? ref.path.at(-1)!).toLowerCase()
  const named = (node: Node | undefined, name: string) =>
    (node?.kind === "word" && node.text.toLowerCase() === name) || (node?.kind === "quoted" && node.parts.length === 1 && node.parts[0]!.toLowerCase() === name)

  /** Whether `nodes` is the column (`col`, `alias.col`), DATE(col) or CAST(col AS DATE); whether that is a DATE. */
  const columnIn = (nodes: ReadonlyArray<Node>): { dateValued: boolean } | undefined => {
    if (nodes.length === 1 && named(nodes[0], column.toLowerCase())) return { dateValued: columnIsDate }
    if (nodes.length === 3 && named(nodes[0], qualifier) && isSymbol(nodes[1], ".") && named(nodes[2], column.toLowerCase())) return { dateValued: columnIsDate }
    const [fn, group] = nodes
    if (nodes.length !== 2 || group?.kind !== "group") return undefined
    const args = splitArgs(group.items)
    if (wordOf(fn) === "DATE" && args.length <= 2 && columnIn(args[0] ?? []) !== undefined) return { dateValued: true }
    const at = group.items.findLastIndex((n) => wordOf(n) === "AS")
    if (wordOf(fn) === "CAST" && wordOf(group.items[at + 1]) === "DATE" && columnIn(group.items.slice(0, at)) !== undefined) return { dateValued: true }
    return undefined
  }

  /** The bounds one segment puts on the column: `col op x`, `x op col`, `col BETWEEN a AND b`, `col IN (…)`. */
  const boundsOf = (segment: ReadonlyArray<Node>): Array<PartitionBound> => {
    const at = segment.findIndex((n) => (n.kind === "symbol" && COMPARISONS.has(n.text)) || wordOf(n) === "BETWEEN" || wordOf(n) === "IN")
    if (at <= 0 || wordOf(segment[0]) === "NOT" || wordOf(segment[at - 1]) === "NOT") return []
    const left = segment.slice(0, at)
    const right = segment.slice(at + 1)
    const op = segment[at]!
    const onLeft = columnIn(left)
    if (wordOf(op) === "BETWEEN") {
      const and = right.findIndex((n) => wordOf(n) === "AND")
      return onLeft === undefined || and < 0
        ? []
        : [
            { op: ">=", nodes: right.slice(0, and), dateValued: onLeft.dateValued },
            { op: "<=", nodes: right.slice(and + 1), dateValued: onLeft.dateValued }
          ]
    }
    if (wordOf(op) === "IN") return onLeft === undefined ? [] : [{ op: "in", nodes: right, dateValued: onLeft.dateValued }]
    const symbol = (op as { text: string }).text
    if (onLeft !== undefined) return [{ op: symbol as PartitionBound["op"], nodes: right, dateValued: onLeft.dateValued }]
    const onRight = columnIn(right)
    return onRight === undefined ? [] : [{ op: FLIPPED[symbol]!, nodes: left, dateValued: onRight.dateValued }]
  }

  const conditionOf = (items: ReadonlyArray<Node>): PartitionFilter => {
    const { segments, hasOr } = segmentsOf(items)
    let found = false
    const bounds: Array<PartitionBound> = []
    for (const segment of segments) {
      const only = segment[0]
      const inner: PartitionFilter =
        segment.length === 1 && only?.kind === "group" && !isSubquery(only) ? conditionOf(only.items) : { found: false, bounds: boundsOf(segment) }
      found ||= inner.found || inner.bounds.length > 0
      if (!hasOr) bounds.push(...inner.bounds)
    }
    return { found, bounds }
  }

  return conditionOf(filterClause(ref, merge))
}
