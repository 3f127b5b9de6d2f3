import { Either, ParseResult, Schema } from "effect"
import type { AccessEvent } from "../AccessEvent.js"
import type { AppCatalog, AppKey } from "../AppCatalog.js"
import { withoutActual } from "../Redact.js"

/**
 * One provider record of an input value: the normalized event, or the one-line reason it was
 * refused. Reasons never quote the input's values (they are stored, and values can be personal data).
 */
export type DecodedRecord = Either.Either<AccessEvent, string>

/** A decoded record with the provider record it came from (the element of a page, the activity). */
export interface RecordOutcome {
  readonly result: DecodedRecord
  readonly record: unknown
}

/**
 * A parse failure as one line, `actor.id: is missing; published: Expected an ISO 8601 date-time
 * with a time zone`, never quoting the input's values (the reason is stored, and values can be
 * personal data). A union's alternatives are merged (`id.applicationName: Expected "login" | "saml"`),
 * and a struct or array type is named by its identifier or as "an object" / "an array".
 */
export const formatParseError = (error: ParseResult.ParseError): string => {
  const issues = ParseResult.ArrayFormatter.formatErrorSync(error).map((issue) => ({
    path: issue.path.length > 0 ? issue.path.join(".") : "record",
    message: plainMessage(withoutActual(issue.message))
  }))
  // A union (`NullOr`, optional) reports every alternative: "Expected null" says nothing next to
  // what the value (or a field inside it) was expected to be.
  const telling = issues.filter(
    (issue) =>
      !ALTERNATIVES.has(issue.message) ||
      !issues.some((other) => !ALTERNATIVES.has(other.message) && (other.path === issue.path || other.path.startsWith(`${issue.path}.`)))
  )
  const byPath = new Map<string, Array<string>>()
  for (const { message, path } of telling) {
    const messages = byPath.get(path) ?? []
    if (!messages.includes(message)) messages.push(message)
    byPath.set(path, messages)
  }
  return Array.from(byPath, ([path, messages]) =>
    `${path}: ${messages.every((m) => m.startsWith("Expected ")) ? `Expected ${messages.map((m) => m.slice(9)).join(" | ")}` : messages.join(", ")}`
  ).join("; ")
}

const ALTERNATIVES = new Set(["Expected null", "Expected undefined"])

/** Schema spells out a struct's or array's whole type: say what kind of value was expected instead. */
const plainMessage = (message: string): string =>
  /^Expected \{[\s\S]*\}$/.test(message)
    ? "Expected an object"
    : /^Expected (?:Readonly)?Array<[\s\S]*>$/.test(message)
      ? "Expected an array"
      : message

/** `items[2].events[0]: reason` for a record inside a page or a delivery. */
export const located = (where: string, reason: string): string => (where === "" ? reason : `${where}: ${reason}`)

export const refuse = (reason: string): DecodedRecord => Either.left(reason)

/** A string that says something, or null: providers send `""` as often as `null` for "none". */
export const nonEmpty = (value: string | null | undefined): string | null =>
  value === undefined || value === null || value.trim() === "" ? null : value

export const isRecord = (u: unknown): u is Readonly<Record<string, unknown>> =>
  typeof u === "object" && u !== null && !Array.isArray(u)

const resolved = new WeakMap<AppCatalog, Map<string, AppKey>>()

/**
 * `catalog.resolve`, remembered per catalog: a tenant's few hundred app names recur in every
 * event, and normalizing the name each time (~0.3 µs) would be a third of an Okta record's decoding.
 */
export const resolveApp = (catalog: AppCatalog, appName: string): AppKey => {
  let memo = resolved.get(catalog)
  if (memo === undefined) resolved.set(catalog, (memo = new Map()))
  let key = memo.get(appName)
  if (key === undefined) {
    key = catalog.resolve(appName)
    if (memo.size >= 10_000) memo.clear()
    memo.set(appName, key)
  }
  return key
}

const ISO_DATE_TIME = /^\d{4}-\d\d-\d\d[Tt ]\d\d:\d\d:\d\d(?:[.,]\d{1,9})?(?:[Zz]|[+-]\d\d:?\d\d)$/
const DAYS_IN_MONTH = [31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
/** Two digits at `i`: the shape is checked first, so fixed offsets are safe (and cheaper than captures). */
const twoDigits = (text: string, i: number) => (text.charCodeAt(i) - 48) * 10 + text.charCodeAt(i + 1) - 48
const isDigitAt = (text: string, i: number) => {
  const c = text.charCodeAt(i)
  return c >= 48 && c <= 57
}

/**
 * An RFC 3339 / ISO 8601 date-time with a time zone (`Z` or an offset), with or without a fraction
 * of a second (Entra sends 7 digits: sub-millisecond digits are dropped). A time without a zone is
 * ambiguous and refused, and so is anything `Date.parse` would guess at ("Nov 2 2026", "2026").
 */
export const parseTimestamp = (text: string): Date | undefined => {
  if (!ISO_DATE_TIME.test(text)) return undefined
  const year = twoDigits(text, 0) * 100 + twoDigits(text, 2)
  const month = twoDigits(text, 5)
  const day = twoDigits(text, 8)
  const hour = twoDigits(text, 11)
  const minute = twoDigits(text, 14)
  const second = twoDigits(text, 17)
  const leapDay = month === 2 && day === 29 && (year % 4 !== 0 || (year % 100 === 0 && year % 400 !== 0))
  if (year < 1000 || month < 1 || month > 12 || day < 1 || day > DAYS_IN_MONTH[month - 1]! || leapDay) return undefined
  if (hour > 23 || minute > 59 || second > 59) return undefined
  let i = 19
  let millis = 0
  if (text[i] === "." || text[i] === ",") {
    i++
    for (let scale = 100; isDigitAt(text, i); i++, scale = Math.floor(scale / 10)) millis += (text.charCodeAt(i) - 48) * scale
  }
  let time = Date.UTC(year, month - 1, day, hour, minute, second, millis)
  if (text[i] === "+" || text[i] === "-") {
    const offsetHours = twoDigits(text, i + 1)
    const offsetMinutes = twoDigits(text, text[i + 3] === ":" ? i + 4 : i + 3)
    if (offsetHours > 23 || offsetMinutes > 59) return undefined
    time -= (text[i] === "-" ? -1 : 1) * (offsetHours * 60 + offsetMinutes) * 60_000
  }
  return new Date(time)
}

/** A date-time string with a time zone, decoded to a `Date` (see `parseTimestamp`). */
export const Timestamp = Schema.transformOrFail(Schema.String, Schema.DateFromSelf, {
  strict: true,
  decode: (text, _, ast) => {
    const date = parseTimestamp(text)
    return date === undefined
      ? ParseResult.fail(new ParseResult.Type(ast, text, "Expected an ISO 8601 date-time with a time zone"))
      : ParseResult.succeed(date)
  },
  encode: (date) => ParseResult.succeed(date.toISOString())
}).annotations({ identifier: "Timestamp" })
