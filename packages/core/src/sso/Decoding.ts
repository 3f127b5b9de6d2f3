import { Either, ParseResult, Schema } from "effect"
import type { AccessEvent } from "../AccessEvent.js"
import type { AppCatalog, AppKey } from "../AppCatalog.js"
import { withoutActual } from "../Refusal.js"

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

// The absolute bounds of what a record may carry, in one place. Past them a value is a broken field
// or an attack (a megabyte "session id", a year-9999 timestamp), not an event: the record is refused,
// naming the field, rather than stored, hashed or indexed. The ingest layer also refuses events more
// than a day ahead of its own clock; core has no clock, so only these fixed bounds live here.

/** Longest identifier: event ids, `uuid`, `uniqueQualifier`, session, user and actor ids, logins, event types. */
export const MAX_ID_LENGTH = 1_024
/** Longest name or label: app names (and the target names they come from), countries, outcomes. */
export const MAX_NAME_LENGTH = 512
/** Earliest event time accepted (inclusive): 1900-01-01T00:00:00Z. */
export const EARLIEST_EVENT_TIME = new Date(Date.UTC(1900, 0, 1))
/** Latest event time accepted (exclusive): 2100-01-01T00:00:00Z. */
export const LATEST_EVENT_TIME = new Date(Date.UTC(2100, 0, 1))

/** Whether a time lies within [`EARLIEST_EVENT_TIME`, `LATEST_EVENT_TIME`). */
export const isWithinTimeBounds = (date: Date): boolean =>
  date.getTime() >= EARLIEST_EVENT_TIME.getTime() && date.getTime() < LATEST_EVENT_TIME.getTime()

/** The refusal of a value over a length bound: `is longer than 1,024 characters`. */
export const longerThan = (max: number) => (): string => `is longer than ${max.toLocaleString("en-US")} characters`

/** A string of at most `MAX_ID_LENGTH` characters. */
export const Id = Schema.String.pipe(Schema.maxLength(MAX_ID_LENGTH, { message: longerThan(MAX_ID_LENGTH) }))
/** A non-empty string of at most `MAX_ID_LENGTH` characters: a record's own id. */
export const NonEmptyId = Schema.NonEmptyString.pipe(Schema.maxLength(MAX_ID_LENGTH, { message: longerThan(MAX_ID_LENGTH) }))
/** A string of at most `MAX_NAME_LENGTH` characters. */
export const Name = Schema.String.pipe(Schema.maxLength(MAX_NAME_LENGTH, { message: longerThan(MAX_NAME_LENGTH) }))

const UNSAFE_INTEGER = "Expected a string, or a JSON number below 2^53 (a larger one has already lost digits)"

/**
 * An int64 identifier (Google's `uniqueQualifier`, `profileId`): the decimal string the API sends,
 * or a JSON number some forwarders turn it into, read as its decimal string so both spell the
 * same id. A number at or above 2^53 has already lost digits in `JSON.parse` and is refused rather
 * than stored as someone else's id; a fraction is refused as not an id at all.
 */
export const Int64Id = Schema.transformOrFail(Schema.Union(Schema.String, Schema.Number), Schema.String, {
  strict: true,
  decode: (value, _, ast) =>
    typeof value === "string"
      ? ParseResult.succeed(value)
      : Number.isSafeInteger(value)
        ? ParseResult.succeed(String(value))
        : ParseResult.fail(new ParseResult.Type(ast, value, Number.isInteger(value) ? UNSAFE_INTEGER : "Expected an integer")),
  encode: ParseResult.succeed
}).pipe(Schema.compose(Id)).annotations({ identifier: "Int64Id" })

/** A date-time string with a time zone (see `parseTimestamp`) within the event time bounds, decoded to a `Date`. */
export const Timestamp = Schema.transformOrFail(Schema.String, Schema.DateFromSelf, {
  strict: true,
  decode: (text, _, ast) => {
    const date = parseTimestamp(text)
    return date === undefined
      ? ParseResult.fail(new ParseResult.Type(ast, text, "Expected an ISO 8601 date-time with a time zone"))
      : isWithinTimeBounds(date)
        ? ParseResult.succeed(date)
        : ParseResult.fail(new ParseResult.Type(ast, text, "Expected a date-time from 1900-01-01 up to 2100-01-01"))
  },
  encode: (date) => ParseResult.succeed(date.toISOString())
}).annotations({ identifier: "Timestamp" })
