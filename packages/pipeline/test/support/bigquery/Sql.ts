import { invalidQuery, unsupported } from "./Errors.js"

/**
 * BigQuery Standard SQL as a tree: tokens, with every parenthesized part a group of its own, so
 * that the translation rules and the partition analysis can look at one level of a query at a
 * time (a function's arguments, a subquery, a WHERE clause). Comments become spaces; every token
 * keeps the white space before it (`pre`), so rendered SQL keeps the author's layout.
 */
export type Token =
  | { readonly kind: "word"; readonly text: string; readonly pre: string }
  /** A backticked name, split at its dots: `` `project.dataset.table` `` has three parts. */
  | { readonly kind: "quoted"; readonly parts: ReadonlyArray<string>; readonly pre: string }
  /** A string literal, decoded (escapes and raw strings resolved). */
  | { readonly kind: "string"; readonly value: string; readonly pre: string }
  | { readonly kind: "number"; readonly text: string; readonly pre: string }
  /** A named query parameter, `@name`. */
  | { readonly kind: "param"; readonly name: string; readonly pre: string }
  | { readonly kind: "symbol"; readonly text: string; readonly pre: string }
  /** Text already in DuckDB's dialect (the output of a translation rule). */
  | { readonly kind: "raw"; readonly text: string; readonly pre: string }

export interface Group {
  readonly kind: "group"
  readonly pre: string
  readonly items: ReadonlyArray<Node>
  readonly closePre: string
}

export type Node = Token | Group

const ESCAPES: Record<string, string> = { n: "\n", r: "\r", t: "\t", "\\": "\\", "'": "'", '"': '"', "`": "`", "?": "?", a: "\x07", b: "\b", f: "\f", v: "\v" }

/** Reads the string literal whose opening quote is at `start` (after any r/R prefix); its value and where it ends. */
const readString = (sql: string, start: number, raw: boolean): { value: string; end: number } => {
  const quote = sql[start]!
  const triple = sql.startsWith(quote.repeat(3), start)
  const close = triple ? quote.repeat(3) : quote
  let i = start + close.length
  let value = ""
  while (!sql.startsWith(close, i)) {
    const c = sql[i]
    if (c === undefined || (!triple && c === "\n")) throw invalidQuery(`Unclosed string literal at offset ${start}`)
    if (c === "\\") {
      const next = sql[i + 1] ?? ""
      if (raw) {
        value += c + next
        i += 2
      } else if (next === "x" || next === "u" || next === "U") {
        const digits = next === "x" ? 2 : next === "u" ? 4 : 8
        value += String.fromCodePoint(parseInt(sql.slice(i + 2, i + 2 + digits), 16))
        i += 2 + digits
      } else if (ESCAPES[next] !== undefined) {
        value += ESCAPES[next]
        i += 2
      } else {
        throw invalidQuery(`Illegal escape sequence: \\${next}`)
      }
    } else {
      value += c
      i++
    }
  }
  return { value, end: i + close.length }
}

const TWO_CHAR_SYMBOLS = new Set(["<=", ">=", "<>", "!=", "||", "=>"])

/** The tokens of `sql`, in order; throws `invalidQuery` on what BigQuery would not lex either. */
export const lex = (sql: string): Array<Token> => {
  const tokens: Array<Token> = []
  let pre = ""
  let i = 0
  const push = (token: Token, end: number) => {
    tokens.push(token)
    pre = ""
    i = end
  }
  while (i < sql.length) {
    const rest = sql.slice(i)
    const space = /^\s+/.exec(rest)
    const comment = /^(--|#)[^\n]*/.exec(rest) ?? /^\/\*[\s\S]*?\*\//.exec(rest)
    if (space !== null || comment !== null) {
      pre += space !== null ? space[0] : " "
      i += (space ?? comment)![0].length
      continue
    }
    const prefixed = /^([rRbB]{1,2})(?=['"])/.exec(rest)
    if (prefixed !== null) {
      if (/b/i.test(prefixed[1]!)) throw unsupported("BYTES literals (b'...')")
      const { value, end } = readString(sql, i + prefixed[1]!.length, true)
      push({ kind: "string", value, pre }, end)
      continue
    }
    const c = sql[i]!
    if (c === "'" || c === '"') {
      const { value, end } = readString(sql, i, false)
      push({ kind: "string", value, pre }, end)
      continue
    }
    if (c === "`") {
      const close = sql.indexOf("`", i + 1)
      if (close < 0) throw invalidQuery(`Unclosed identifier literal at offset ${i}`)
      push({ kind: "quoted", parts: sql.slice(i + 1, close).split("."), pre }, close + 1)
      continue
    }
    if (c === "@") {
      const name = /^@([A-Za-z_][A-Za-z0-9_]*)/.exec(rest)
      if (name === null) throw unsupported(rest.startsWith("@@") ? "system variables (@@...)" : `parameter syntax at offset ${i}`)
      push({ kind: "param", name: name[1]!, pre }, i + name[0].length)
      continue
    }
    if (c === "?") throw unsupported("positional query parameters (?)")
    const word = /^[A-Za-z_][A-Za-z0-9_]*/.exec(rest)
    if (word !== null) {
      push({ kind: "word", text: word[0], pre }, i + word[0].length)
      continue
    }
    const number = /^(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?/.exec(rest)
    if (number !== null) {
      push({ kind: "number", text: number[0], pre }, i + number[0].length)
      continue
    }
    const symbol = TWO_CHAR_SYMBOLS.has(rest.slice(0, 2)) ? rest.slice(0, 2) : c
    push({ kind: "symbol", text: symbol, pre }, i + symbol.length)
  }
  return tokens
}

/** The tokens as a tree of parenthesized groups. */
export const tree = (tokens: ReadonlyArray<Token>): Array<Node> => {
  const stack: Array<{ pre: string; items: Array<Node> }> = [{ pre: "", items: [] }]
  for (const token of tokens) {
    if (token.kind === "symbol" && token.text === "(") {
      stack.push({ pre: token.pre, items: [] })
    } else if (token.kind === "symbol" && token.text === ")") {
      const open = stack.pop()!
      if (stack.length === 0) throw invalidQuery("Syntax error: unexpected )")
      stack.at(-1)!.items.push({ kind: "group", pre: open.pre, items: open.items, closePre: token.pre })
    } else {
      stack.at(-1)!.items.push(token)
    }
  }
  if (stack.length !== 1) throw invalidQuery("Syntax error: unclosed (")
  return stack[0]!.items
}

/** The statements of a script (split at the `;` between them), each as a tree; empty ones dropped. */
export const statementsOf = (sql: string): Array<Array<Node>> => {
  const statements: Array<Array<Node>> = [[]]
  for (const node of tree(lex(sql))) {
    if (node.kind === "symbol" && node.text === ";") statements.push([])
    else statements.at(-1)!.push(node)
  }
  return statements.filter((s) => s.length > 0)
}

/** The upper-cased text of a word token, or undefined for anything else. */
export const wordOf = (node: Node | undefined): string | undefined => (node?.kind === "word" ? node.text.toUpperCase() : undefined)

export const isSymbol = (node: Node | undefined, text: string) => node?.kind === "symbol" && node.text === text

/** The items of a group split at its top-level commas (a function's arguments; not those inside `[…]`). */
export const splitArgs = (items: ReadonlyArray<Node>): Array<Array<Node>> => {
  const args: Array<Array<Node>> = [[]]
  let brackets = 0
  for (const node of items) {
    brackets += isSymbol(node, "[") ? 1 : isSymbol(node, "]") ? -1 : 0
    if (isSymbol(node, ",") && brackets === 0) args.push([])
    else args.at(-1)!.push(node)
  }
  return items.length === 0 ? [] : args
}

/** A group holding a query (`(SELECT ...)`, `(WITH ...)`) rather than an expression. */
export const isSubquery = (node: Node | undefined) => node?.kind === "group" && ["SELECT", "WITH"].includes(wordOf(node.items[0]) ?? "")

/** BigQuery's reserved keywords: never a table alias, never a function name. */
export const RESERVED = new Set(
  (
    "ALL AND ANY ARRAY AS ASC ASSERT_ROWS_MODIFIED AT BETWEEN BY CASE CAST COLLATE CONTAINS CREATE CROSS CUBE CURRENT " +
    "DEFAULT DEFINE DESC DISTINCT ELSE END ENUM ESCAPE EXCEPT EXCLUDE EXISTS EXTRACT FALSE FETCH FOLLOWING FOR FROM FULL " +
    "GROUP GROUPING GROUPS HASH HAVING IF IGNORE IN INNER INTERSECT INTERVAL INTO IS JOIN LATERAL LEFT LIKE LIMIT LOOKUP " +
    "MERGE NATURAL NEW NO NOT NULL NULLS OF ON OR ORDER OUTER OVER PARTITION PRECEDING PROTO QUALIFY RANGE RECURSIVE " +
    "RESPECT RIGHT ROLLUP ROWS SELECT SET SOME STRUCT TABLESAMPLE THEN TO TREAT TRUE UNBOUNDED UNION UNNEST USING WHEN " +
    "WHERE WINDOW WITH WITHIN"
  ).split(" ")
)

/** BigQuery SQL text of a tree (comments dropped, literals re-quoted): a statement of a script, on its own. */
export const renderBigQuery = (nodes: ReadonlyArray<Node>): string =>
  nodes
    .map((n) => {
      switch (n.kind) {
        case "group":
          return `${n.pre}(${renderBigQuery(n.items)}${n.closePre})`
        case "string":
          return `${n.pre}'${n.value.replaceAll("\\", "\\\\").replaceAll("'", "\\'").replaceAll("\n", "\\n")}'`
        case "quoted":
          return `${n.pre}\`${n.parts.join(".")}\``
        case "param":
          return `${n.pre}@${n.name}`
        default:
          return n.pre + n.text
      }
    })
    .join("")
