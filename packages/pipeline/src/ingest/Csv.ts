import type { Stream } from "effect"
import { type InputValue, MAX_VALUE_CHARS, makeSplitter, SAMPLE_CHARS, type Splitter, splitValues } from "./Framing.js"

/** A CSV field separator workcat recognizes. */
export type CsvDelimiter = "," | ";" | "\t" | "|"

export interface CsvOptions {
  /** The field separator; by default the one of `,` `;` tab `|` seen most often in the header. */
  readonly delimiter?: CsvDelimiter | undefined
  /** Largest record held in memory (default: `MAX_VALUE_CHARS`); a longer one is reported with a sample. */
  readonly maxChars?: number | undefined
}

const DELIMITERS = [44, 59, 9, 124] // , ; tab |, in the order that breaks ties
// Where the parser stands in a field.
const START = 0 // before a field: spaces are skipped, a `"` opens a quoted field
const PLAIN = 1 // in an unquoted field
const QUOTED = 2 // in a quoted field
const QUOTE = 3 // after a `"` in a quoted field: a second one is an escaped quote, anything else closes it
const CLOSED = 4 // after a quoted field's closing quote

/** The text of a record that is not a row: its cells as read. */
const fieldsText = (cells: ReadonlyArray<string>) => JSON.stringify({ _fields: cells })
const NONE: ReadonlyArray<number> = []

const needsEscape = /["\\\u0000-\u001f\ud800-\udfff]/
// What JSON escapes besides quotes and line ends (found elsewhere): searched for in the whole chunk,
// as a search in a slice of it copies the slice. In a tab-separated file a tab is a delimiter.
const ESCAPED = /[\\\u0000-\u0009\u000b\u000c\u000e-\u001f\ud800-\udfff]/g
const ESCAPED_BESIDES_TAB = /[\\\u0000-\u0008\u000b\u000c\u000e-\u001f\ud800-\udfff]/g
/** A cell as a JSON string (JSON.stringify is slow, and most cells need no escaping). */
const quote = (cell: string) => (needsEscape.test(cell) ? JSON.stringify(cell) : `"${cell}"`)

/** An unquoted cell without the spaces and tabs around it. */
const trimCell = (cell: string) => {
  let a = 0
  let b = cell.length
  while (a < b && (cell.charCodeAt(a) === 32 || cell.charCodeAt(a) === 9)) a++
  while (b > a && (cell.charCodeAt(b - 1) === 32 || cell.charCodeAt(b - 1) === 9)) b--
  return a === 0 && b === cell.length ? cell : cell.slice(a, b)
}

/**
 * Splits CSV text chunks (RFC 4180) into rows without holding more than one record and one chunk.
 * The first record is the header; every later record is one value: a JSON object from header
 * names to cell text, at the line the record starts on (lines inside quoted fields count).
 * - A quoted field keeps its text exactly (delimiters, line breaks, `""` as `"`); an unquoted one
 *   loses the spaces and tabs around it, and a `"` inside it is text.
 * - Records end at CRLF, LF or a lone CR (old Mac exports); blank lines are not records; a byte
 *   order mark at the start is dropped; the last record needs no line end.
 * - A header with an empty or repeated name refuses the whole input: one value with the problem
 *   and no rows, since every row would be read under the wrong names.
 * - A record that is not a row (another number of fields than the header, text after a closing
 *   quote, a quote never closed) is a value with its problem; its text is `{"_fields": [...]}`
 *   with the cells as read, so the dead letter keeps the whole record. A record longer than
 *   `maxChars` keeps a sample of its raw text instead.
 */
export const makeCsvSplitter = (options: CsvOptions = {}): Splitter => {
  const maxChars = options.maxChars ?? MAX_VALUE_CHARS
  const sampleChars = Math.min(SAMPLE_CHARS, maxChars)
  let delimiter = options.delimiter?.charCodeAt(0) ?? 0 // 0 until the header shows it
  let begun = false // past a byte order mark
  let refused = false // the header is wrong: nothing more is read
  // Finding the delimiter: the header so far, how far it is scanned, and what was counted.
  let head = ""
  let scanned = 0
  let headQuoted = false
  let headContent = false
  let fieldStart = true
  const counts = [0, 0, 0, 0]
  // The header as JSON pieces: `{"a":`, `,"b":` before each cell, and with a `"` after them
  // before a cell written as it is (most cells need no escaping, and JSON.stringify is slow).
  let keys: Array<string> | undefined
  let quotedKeys: Array<string> = []
  // Whether the field read so far has no character that JSON escapes, and the cells of the record that have one.
  let fieldSafe = true
  let escapedCells: Array<number> = []
  // The record being read: its cells, the current field's text beyond the current chunk, its
  // first line, how much of it came in earlier chunks and the start of that text.
  let line = 1 // the line the next character is on
  let afterCr = false // the last chunk ended with a CR (a following LF is the same line end)
  let state = START
  const cells: Array<string> = []
  const lineCells: Array<string> = [] // the cells of a line split at once (see `scan`)
  let field = ""
  let start: number | null = null
  let quoteLine = 0
  let carried = 0
  let rawHead = ""
  let oversized = false
  let malformed: string | undefined

  const header = (out: Array<InputValue>) => {
    const names = cells.map((name) => name.trim())
    // Where each name was first seen. Reasons give positions, never names: a file without a
    // header row makes a person's row the header, and its cells are personal data.
    const seen = new Map<string, number>()
    let problem: string | undefined
    for (let k = 0; k < names.length && problem === undefined; k++) {
      const name = names[k]!
      const first = seen.get(name)
      if (name === "") problem = `column ${k + 1} of the header is empty`
      else if (first !== undefined) problem = `columns ${first + 1} and ${k + 1} of the header have the same name`
      seen.set(name, k)
    }
    if (problem !== undefined) return fail(out, [fieldsText(names), start, problem])
    keys = names.map((name, k) => (k === 0 ? "{" : ",") + JSON.stringify(name) + ":")
    quotedKeys = keys.map((key) => `${key}"`)
  }
  const fail = (out: Array<InputValue>, value: InputValue) => {
    out.push(value)
    refused = true
  }
  /** A row's JSON text; `escaped`: the cells that need escaping, in order (null: any may). */
  const rowText = (row: ReadonlyArray<string>, escaped: ReadonlyArray<number> | null): string => {
    let text = ""
    for (let k = 0, next = 0; k < row.length; k++) {
      if (escaped === null) text += keys![k] + quote(row[k]!)
      else if (escaped[next] === k) {
        text += keys![k] + JSON.stringify(row[k])
        next++
      } else text += quotedKeys[k] + row[k]! + '"'
    }
    text += "}"
    // Flattened now (reading a character of a rope flattens it in V8): a row of some 30 pieces,
    // several of them slices keeping their chunk alive, costs the GC twice the time of the reading.
    text.charCodeAt(0)
    return text
  }
  const emitRow = (out: Array<InputValue>, row: ReadonlyArray<string>, at: number | null, escaped: ReadonlyArray<number> | null) => {
    if (row.length === keys!.length) out.push([rowText(row, escaped), at])
    else out.push([fieldsText(row), at, `row has ${row.length} fields, the header has ${keys!.length}`])
  }

  /** The record ends at `to` in `chunk` (where it began at `from`, or before the chunk). */
  const endRecord = (out: Array<InputValue>, chunk: string, from: number, to: number) => {
    if (oversized || carried + to - from > maxChars) {
      const sample = rawHead + chunk.slice(from, Math.min(to, from + sampleChars - rawHead.length))
      const value: InputValue = [sample, start, `${keys === undefined ? "the header is" : "row"} longer than ${maxChars} characters`]
      if (keys === undefined) fail(out, value)
      else out.push(value)
    } else if (keys === undefined) header(out)
    else if (malformed !== undefined) out.push([fieldsText(cells), start, malformed])
    else emitRow(out, cells, start, escapedCells)
    if (escapedCells.length > 0) escapedCells = []
    cells.length = 0 // what was emitted copied them
    start = null
    carried = 0
    rawHead = ""
    oversized = false
    malformed = undefined
  }

  const scan = (chunk: string, out: Array<InputValue>) => {
    const n = chunk.length
    const d = delimiter
    const dChar = String.fromCharCode(d)
    const escaped = d === 9 ? ESCAPED_BESIDES_TAB : ESCAPED
    let from = 0 // where the current field's text starts in this chunk
    let recordFrom = 0 // where the current record starts in this chunk
    // The next delimiter, LF, CR and quote at or after `i` (`n`: none), each found once and kept until passed.
    let dAt = -1
    let lfAt = -1
    let crAt = -1
    let qAt = -1
    let escAt = -1
    const find = (ch: string, at: number) => {
      const k = chunk.indexOf(ch, at)
      return k === -1 ? n : k
    }
    /** Whether `chunk[at, to)` has a character to escape (besides quotes and line ends). */
    const escapes = (at: number, to: number) => {
      if (escAt < at) {
        escaped.lastIndex = at
        escAt = escaped.exec(chunk)?.index ?? n
      }
      return escAt < to
    }
    /** Counts the line end at `j`: a CR, or an LF that does not follow one. */
    const lineEnd = (j: number) => {
      if (chunk.charCodeAt(j) === 13 || !(j > 0 ? chunk.charCodeAt(j - 1) === 13 : afterCr)) line++
    }
    const endField = (value: string) => {
      if (!fieldSafe) escapedCells.push(cells.length)
      fieldSafe = true
      if (!oversized) cells.push(value)
      field = ""
      state = START
    }
    for (let i = 0; i < n && !refused; i++) {
      const c = chunk.charCodeAt(i)
      switch (state) {
        case START: {
          if (start === null && keys !== undefined) {
            // The usual line: whole in this chunk, no quote, no CR but at its end. Split at once.
            if (lfAt < i) lfAt = find("\n", i)
            if (qAt < i) qAt = find('"', i)
            if (crAt < i) crAt = find("\r", i)
            const end = lfAt > i && chunk.charCodeAt(lfAt - 1) === 13 ? lfAt - 1 : lfAt
            if (lfAt < n && qAt > lfAt && crAt >= end && end - i <= maxChars) {
              const row = lineCells
              row.length = 0
              for (let f = i; ; ) {
                if (dAt < f) dAt = find(dChar, f)
                const e = dAt < end ? dAt : end
                row.push(trimCell(chunk.slice(f, e)))
                if (e === end) break
                f = e + 1
              }
              if (row.length > 1 || row[0] !== "") emitRow(out, row, line, escapes(i, end) ? null : NONE)
              lineEnd(end) // its CR, or its LF
              i = lfAt
              continue
            }
          }
          if (c === 32 || (c === 9 && d !== 9)) continue
          if (c === 10 || c === 13) {
            lineEnd(i)
            // A line end right after a delimiter ends an empty last field; anywhere else it is a blank line.
            if (start !== null) {
              endField("")
              endRecord(out, chunk, recordFrom, i)
            }
            continue
          }
          if (start === null) {
            start = line
            recordFrom = i
          }
          if (c === d) endField("")
          else if (c === 34) {
            state = QUOTED
            quoteLine = line
            from = i + 1
          } else {
            state = PLAIN
            from = i
          }
          continue
        }
        case PLAIN: {
          if (dAt < i) dAt = find(dChar, i)
          if (lfAt < i) lfAt = find("\n", i)
          if (crAt < i) crAt = find("\r", i)
          const e = Math.min(dAt, lfAt, crAt)
          if (qAt < from) qAt = find('"', from) // a quote inside an unquoted field is text, escaped in JSON
          if (qAt < e || escapes(from, e)) fieldSafe = false
          if (e === n) i = n
          else {
            i = e
            endField(trimCell(field + chunk.slice(from, i)))
            if (e !== dAt) {
              lineEnd(i)
              endRecord(out, chunk, recordFrom, i)
            }
          }
          continue
        }
        case QUOTED: {
          if (qAt < i) qAt = find('"', i)
          if (lfAt < i) lfAt = find("\n", i)
          if (crAt < i) crAt = find("\r", i)
          for (let j = Math.min(lfAt, crAt); j < qAt; j++) {
            const k = chunk.charCodeAt(j)
            if (k === 10 || k === 13) {
              lineEnd(j)
              fieldSafe = false
            }
          }
          const tab = d === 9 ? chunk.indexOf("\t", from) : -1
          if (escapes(from, qAt) || (tab !== -1 && tab < qAt)) fieldSafe = false
          i = qAt
          if (i < n) {
            if (!oversized) field += chunk.slice(from, i)
            from = i + 1
            state = QUOTE
          }
          continue
        }
        case QUOTE:
          if (c === 34) {
            from = i // the escaped quote starts the next piece of the field
            fieldSafe = false
            state = QUOTED
          } else {
            state = CLOSED
            i-- // read again as what follows the closed field
          }
          continue
        case CLOSED:
          if (c === d) endField(field)
          else if (c === 10 || c === 13) {
            lineEnd(i)
            endField(field)
            endRecord(out, chunk, recordFrom, i)
          } else if (c !== 32 && c !== 9) {
            // `"a"b`: not CSV; the record is kept whole, with the reason, and the rest of the field read as text.
            malformed ??= `field ${cells.length + 1} has text after its closing quote`
            state = PLAIN
            from = i
            i--
          }
          continue
      }
    }
    if (refused) return
    if ((state === PLAIN || state === QUOTED) && !oversized) field += chunk.slice(from)
    if (start !== null) {
      carried += n - recordFrom
      if (rawHead.length < sampleChars) rawHead += chunk.slice(recordFrom, recordFrom + sampleChars - rawHead.length)
      if (carried > maxChars && !oversized) {
        oversized = true
        cells.length = 0
        field = ""
      }
    }
    afterCr = n > 0 && chunk.charCodeAt(n - 1) === 13
  }

  /**
   * Counts the candidate delimiters outside quotes until the header ends; true once it has. Quotes
   * follow the parser's rules: one opens a field only at its start, `""` inside is a quote.
   */
  const scanHeader = (): boolean => {
    for (; scanned < head.length; scanned++) {
      const c = head.charCodeAt(scanned)
      if (headQuoted) {
        if (c !== 34) continue
        if (scanned + 1 === head.length) return false // `"` or `""`: the next chunk tells
        if (head.charCodeAt(scanned + 1) === 34) scanned++
        else headQuoted = false
        continue
      }
      const k = DELIMITERS.indexOf(c)
      if (c === 34 && fieldStart) headQuoted = true
      else if ((c === 10 || c === 13) && headContent) return true
      else if (k >= 0) counts[k]!++
      if (c !== 32 && c !== 10 && c !== 13) headContent = true
      fieldStart = k >= 0 || c === 10 || c === 13 || (fieldStart && c === 32)
    }
    return false
  }
  const detect = () => {
    let best = 0
    for (let k = 1; k < DELIMITERS.length; k++) if (counts[k]! > counts[best]!) best = k
    delimiter = DELIMITERS[best]!
  }

  const push = (chunk: string): Array<InputValue> => {
    const out: Array<InputValue> = []
    if (refused || chunk === "") return out
    if (!begun) {
      begun = true
      if (chunk.charCodeAt(0) === 0xfeff) chunk = chunk.slice(1)
    }
    if (delimiter === 0) {
      head += chunk
      // A header that never ends (an open quote) is left to the parser, which does not hold it.
      if (!scanHeader() && head.length <= maxChars) return out
      detect()
      chunk = head
      head = ""
    }
    scan(chunk, out)
    return out
  }

  const end = (): Array<InputValue> => {
    const out: Array<InputValue> = []
    if (refused) return out
    if (delimiter === 0) {
      detect()
      scan(head, out)
      head = ""
    }
    if (refused) return out
    if (state === QUOTED) {
      const problem = `quoted field opened on line ${quoteLine} is never closed`
      out.push([oversized ? rawHead : fieldsText([...cells, field]), start, problem])
    } else if (start !== null) {
      if (!fieldSafe) escapedCells.push(cells.length)
      if (!oversized) cells.push(state === PLAIN ? trimCell(field) : field)
      endRecord(out, "", 0, 0)
    }
    return out
  }
  return { push, end }
}

/** The rows of a CSV stream as input values (see `makeCsvSplitter`). */
export const csvValues = <E, R>(text: Stream.Stream<string, E, R>, options: CsvOptions = {}): Stream.Stream<InputValue, E, R> =>
  splitValues(text, () => makeCsvSplitter(options))

/** The wrapper keys of HR exports whose array holds the records: Workday RaaS, BambooHR reports. */
export const HR_ARRAY_KEYS: ReadonlySet<string> = new Set(["Report_Entry", "employees"])

/**
 * What an input is, from its first character that is not white space (or a byte order mark):
 * JSON if it is `{` or `[`, CSV otherwise; undefined while the text is blank.
 */
export const textFormat = (text: string): "csv" | "json" | undefined => {
  const first = text.search(/[^\s\ufeff]/)
  return first === -1 ? undefined : text[first] === "{" || text[first] === "[" ? "json" : "csv"
}

/**
 * Splits an HR export, CSV or JSON (decided by `textFormat` on its start): CSV rows as JSON
 * objects, or JSON values with the records of a Workday or BambooHR wrapper streamed one by one.
 */
export const makeHrSplitter = (options: CsvOptions = {}): Splitter => {
  let head = ""
  let splitter: Splitter | undefined
  const choose = (format: "csv" | "json") =>
    format === "csv" ? makeCsvSplitter(options) : makeSplitter(options.maxChars, { streamArrayKeys: HR_ARRAY_KEYS })
  const push = (chunk: string): Array<InputValue> => {
    if (splitter !== undefined) return splitter.push(chunk)
    head += chunk
    const format = textFormat(head)
    if (format === undefined) return []
    splitter = choose(format)
    const values = splitter.push(head)
    head = ""
    return values
  }
  const end = (): Array<InputValue> => (splitter === undefined ? [] : splitter.end())
  return { push, end }
}

/** The input values of an HR export (see `makeHrSplitter`). */
export const hrInputValues = <E, R>(text: Stream.Stream<string, E, R>, options: CsvOptions = {}): Stream.Stream<InputValue, E, R> =>
  splitValues(text, () => makeHrSplitter(options))
