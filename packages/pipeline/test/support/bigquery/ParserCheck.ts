import nodeSqlParser from "node-sql-parser"
import { isSymbol, type Node, renderBigQuery, statementsOf, wordOf } from "./Sql.js"

/**
 * Whether SQL is BigQuery Standard SQL by a second opinion: node-sql-parser's BigQuery grammar
 * (`astify(sql, { database: "bigquery" })`), statement by statement for a script. Transaction
 * control (`BEGIN [TRANSACTION]`, `COMMIT [TRANSACTION]`, `ROLLBACK [TRANSACTION]`), which its
 * grammar lacks, is checked here against its (one-line) syntax instead. The grammar rejects some
 * valid BigQuery too: `PARSER_GAPS` lists what it rejects among the constructs the test server
 * supports (found by trying each), each with an example.
 */
const parser = new nodeSqlParser.Parser()

const topLevelCall = (nodes: ReadonlyArray<Node>, name: string, words: ReadonlyArray<string>): boolean =>
  nodes.some(
    (n, i) =>
      (wordOf(n) === name && nodes[i + 1]?.kind === "group" && (nodes[i + 1] as { items: ReadonlyArray<Node> }).items.some((m) => words.includes(wordOf(m) ?? ""))) ||
      (n.kind === "group" && topLevelCall(n.items, name, words))
  )

const mentions = (nodes: ReadonlyArray<Node>, word: string): boolean => nodes.some((n) => wordOf(n) === word || (n.kind === "group" && mentions(n.items, word)))

export interface ParserGap {
  readonly construct: string
  readonly example: string
  readonly matches: (statement: ReadonlyArray<Node>) => boolean
}

export const PARSER_GAPS: ReadonlyArray<ParserGap> = [
  {
    construct: "MERGE statements",
    example: "MERGE d.t USING (SELECT 1 AS id) s ON t.id = s.id WHEN NOT MATCHED THEN INSERT (id) VALUES (s.id)",
    matches: (s) => wordOf(s[0]) === "MERGE"
  },
  {
    construct: "DELETE and UPDATE of an unquoted dataset.table (a backticked name parses)",
    example: "DELETE FROM d.t WHERE a = 1",
    matches: (s) => {
      const at = wordOf(s[1]) === "FROM" ? 2 : 1
      return (wordOf(s[0]) === "DELETE" || wordOf(s[0]) === "UPDATE") && s[at]?.kind === "word" && isSymbol(s[at + 1], ".")
    }
  },
  {
    construct: "ORDER BY, DISTINCT, IGNORE NULLS or LIMIT inside ARRAY_AGG (ORDER BY after a STRUCT(…) argument parses)",
    example: "SELECT ARRAY_AGG(x ORDER BY y) FROM d.t",
    matches: (s) => topLevelCall(s, "ARRAY_AGG", ["ORDER", "DISTINCT", "IGNORE", "LIMIT"])
  },
  {
    construct: "ORDER BY inside STRING_AGG",
    example: "SELECT STRING_AGG(x, ',' ORDER BY y) FROM d.t",
    matches: (s) => topLevelCall(s, "STRING_AGG", ["ORDER"])
  },
  {
    construct: "QUALIFY",
    example: "SELECT x FROM d.t QUALIFY ROW_NUMBER() OVER (PARTITION BY x ORDER BY y) = 1",
    matches: (s) => mentions(s, "QUALIFY")
  }
]

export interface ParseVerdict {
  /** The statement as it was checked (comments dropped). */
  readonly statement: string
  readonly parses: true | string
  /** For a statement that does not parse: the parser gap it falls in, if it is a known one. */
  readonly knownGap: string | undefined
}

const isTransactionControl = (s: ReadonlyArray<Node>) =>
  ["BEGIN", "COMMIT", "ROLLBACK"].includes(wordOf(s[0]) ?? "") && (s.length === 1 || (s.length === 2 && wordOf(s[1]) === "TRANSACTION"))

/** node-sql-parser's verdict on each statement of `sql` (one verdict for SQL that does not even lex). */
export const parserVerdicts = (sql: string): Array<ParseVerdict> => {
  let statements: Array<Array<Node>>
  try {
    statements = statementsOf(sql)
  } catch (e) {
    return [{ statement: sql, parses: (e as Error).message, knownGap: undefined }]
  }
  return statements.map((nodes) => {
    const statement = renderBigQuery(nodes).trim()
    if (isTransactionControl(nodes)) return { statement, parses: true, knownGap: undefined }
    try {
      parser.astify(statement, { database: "bigquery" })
      return { statement, parses: true, knownGap: undefined }
    } catch (e) {
      return { statement, parses: e instanceof Error ? e.message : String(e), knownGap: PARSER_GAPS.find((g) => g.matches(nodes))?.construct }
    }
  })
}

/** True if every statement of `sql` parses as BigQuery SQL; else the first that does not, and why. */
export const parsesAsBigQuery = (sql: string): true | string => {
  const verdicts = parserVerdicts(sql)
  if (verdicts.length === 0) return "no statement"
  const failed = verdicts.find((v) => v.parses !== true)
  if (failed === undefined) return true
  return `${failed.statement}: ${failed.parses}${failed.knownGap === undefined ? "" : ` (a known gap of node-sql-parser: ${failed.knownGap})`}`
}
