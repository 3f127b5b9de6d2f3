import { Either } from "effect"
import type { HrEventType, IsoDate } from "../Employee.js"
import { type HrField, normalizeColumn, type ResolvedHrMapping } from "./HrMapping.js"

/** Who an HR record is about, as read from it (the login is pseudonymized before anything is stored). */
export interface HrPerson {
  readonly login: string
  readonly employeeId: string | null
  readonly title: string | null
  readonly department: string | null
  readonly team: string | null
  readonly managerLogin: string | null
  readonly managerEmployeeId: string | null
}

/**
 * One HR record, mapped: an event (it names its type: a hire, a role change, a termination), or a
 * snapshot row (a person's current state, turned into the events that explain the difference from
 * what is stored).
 */
export type MappedHrRecord =
  | { readonly kind: "event"; readonly eventId: string; readonly type: HrEventType; readonly effectiveDate: IsoDate; readonly person: HrPerson }
  | {
      readonly kind: "snapshot"
      readonly person: HrPerson
      readonly hireDate: IsoDate | null
      readonly terminationDate: IsoDate | null
      /** From the status column; null when the record has none (then the termination date decides). */
      readonly status: "active" | "terminated" | null
    }

/** Bounds of what an HR value may be: longer or stranger values are refused, not stored. */
export const HR_LIMITS = { text: 500, identifier: 320, earliest: "1900-01-01", latest: "2100-12-31" } as const

const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/

class Refused {
  constructor(readonly reason: string) {}
}

/** The keys of a record, by normalized name (the first of two that normalize alike wins). */
const keysOf = (record: Readonly<Record<string, unknown>>): Map<string, string> => {
  const keys = new Map<string, string>()
  for (const key of Object.keys(record)) {
    const normalized = normalizeColumn(key)
    if (!keys.has(normalized)) keys.set(normalized, key)
  }
  return keys
}

/** The record's column for a field: the first candidate it has (see `resolveHrMapping`). */
export const columnFor = (mapping: ResolvedHrMapping, field: HrField, keys: ReadonlyMap<string, string>): string | undefined => {
  for (const candidate of mapping.columns[field]) {
    const key = keys.get(candidate)
    if (key !== undefined) return key
  }
  return undefined
}

/** Text of a cell: strings trimmed, numbers and booleans as written; empty means none. */
const text = (field: HrField, value: unknown, max: number): string | null => {
  if (value === undefined || value === null) return null
  let s: string
  if (typeof value === "string") s = value.trim()
  else if (typeof value === "number" && Number.isFinite(value)) {
    if (!Number.isSafeInteger(value) && Number.isInteger(value)) throw new Refused(`${field}: a number too large to be exact; send it as text`)
    s = String(value)
  } else if (typeof value === "boolean") s = String(value)
  else throw new Refused(`${field}: expected text, got ${Array.isArray(value) ? "an array" : typeof value === "object" ? "an object" : typeof value}`)
  if (s === "") return null
  if (s.includes("\u0000")) throw new Refused(`${field}: contains a NUL character`)
  if (s.length > max) throw new Refused(`${field}: longer than ${max} characters`)
  return s
}

const pad = (n: string) => n.padStart(2, "0")

/** A calendar date in range, or why not (never quoting the value). */
const date = (field: HrField, value: string | null, format: ResolvedHrMapping["dateFormat"]): IsoDate | null => {
  if (value === null || /^0{4}-0{2}-0{2}/.test(value)) return null // BambooHR writes 0000-00-00 for "no date"
  let iso: string | undefined
  const isoMatch = /^(\d{4})-(\d{2})-(\d{2})(?:$|[T ]|[Zz]$|[+-]\d{2}:?\d{2}$)/.exec(value)
  if (isoMatch) iso = `${isoMatch[1]}-${isoMatch[2]}-${isoMatch[3]}`
  else {
    const parts = /^(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})$/.exec(value)
    if (parts === null) throw new Refused(`${field}: not a date (expected YYYY-MM-DD)`)
    if (format === "iso") throw new Refused(`${field}: a date with slashes or dots needs "dateFormat": "mdy" or "dmy" in the HR mapping`)
    const [month, day] = format === "mdy" ? [parts[1]!, parts[2]!] : [parts[2]!, parts[1]!]
    iso = `${parts[3]}-${pad(month)}-${pad(day)}`
  }
  const parsed = new Date(`${iso}T00:00:00Z`)
  if (Number.isNaN(parsed.getTime()) || parsed.toISOString().slice(0, 10) !== iso) throw new Refused(`${field}: not a calendar date`)
  if (iso < HR_LIMITS.earliest || iso > HR_LIMITS.latest) throw new Refused(`${field}: outside ${HR_LIMITS.earliest} to ${HR_LIMITS.latest}`)
  return iso as IsoDate
}

/**
 * An HR record (a JSON object, or a CSV row as one) through the tenant's mapping: an event when it
 * has an event type, else a snapshot row. Refused with a one-line reason naming the field, never
 * quoting a value (reasons are stored, and values are personal data).
 */
export const mapHrRecord = (mapping: ResolvedHrMapping, json: unknown): Either.Either<MappedHrRecord, string> => {
  if (typeof json !== "object" || json === null || Array.isArray(json)) return Either.left("expected an object")
  const record = json as Readonly<Record<string, unknown>>
  const keys = keysOf(record)
  const read = (field: HrField, max: number = HR_LIMITS.text) => {
    const column = columnFor(mapping, field, keys)
    return column === undefined ? null : text(field, record[column], max)
  }
  try {
    const login = read("login", HR_LIMITS.identifier)
    if (login === null) {
      const tried = mapping.columns.login.slice(0, 4).join(", ")
      return Either.left(`login: no value (looked in ${columnFor(mapping, "login", keys) ?? `columns ${tried}…`}); set the login column with --hr-mapping`)
    }
    const managerLogin = read("managerLogin", HR_LIMITS.identifier)
    const person: HrPerson = {
      login,
      employeeId: read("employeeId", HR_LIMITS.identifier),
      title: read("title"),
      department: read("department"),
      team: read("team"),
      // A manager column may hold a name: only an e-mail address is a login, anything else is ignored.
      managerLogin: managerLogin !== null && EMAIL.test(managerLogin) ? managerLogin : null,
      managerEmployeeId: read("managerEmployeeId", HR_LIMITS.identifier)
    }
    // An event names its type; a "Type" column of a snapshot export (an employment type) is not one.
    const type = read("eventType", 100)
    const eventType = type === null ? undefined : mapping.eventTypes.get(normalizeColumn(type))
    const eventId = read("eventId", HR_LIMITS.identifier)
    if (type !== null && eventType === undefined && eventId !== null) {
      return Either.left("eventType: not a known event type (add it to eventTypes in the HR mapping)")
    }
    if (eventType !== undefined) {
      if (eventId === null) return Either.left("eventId: no value (an HR event needs an id; a record without a type is read as a snapshot)")
      const effectiveDate = date("effectiveDate", read("effectiveDate", 40), mapping.dateFormat)
      if (effectiveDate === null) return Either.left("effectiveDate: no value")
      return Either.right({ kind: "event", eventId, type: eventType, effectiveDate, person })
    }
    const status = read("status", 100)
    const mappedStatus = status === null ? null : mapping.status.get(normalizeColumn(status))
    if (mappedStatus === undefined) return Either.left("status: not a known value (add it to statusValues in the HR mapping)")
    return Either.right({
      kind: "snapshot",
      person,
      hireDate: date("hireDate", read("hireDate", 40), mapping.dateFormat),
      terminationDate: date("terminationDate", read("terminationDate", 40), mapping.dateFormat),
      status: mappedStatus
    })
  } catch (e) {
    if (e instanceof Refused) return Either.left(e.reason)
    throw e
  }
}

/** What a record's column for `field` holds as text, even when the record is refused: whom its dead letter is about. */
export const recordField = (mapping: ResolvedHrMapping, field: HrField, json: unknown): string | null => {
  if (typeof json !== "object" || json === null || Array.isArray(json)) return null
  const record = json as Readonly<Record<string, unknown>>
  const column = columnFor(mapping, field, keysOf(record))
  const value = column === undefined ? undefined : record[column]
  return typeof value === "string" && value.trim() !== "" ? value.trim() : typeof value === "number" ? String(value) : null
}

/** For `--dry-run`: the column each field is read from in a record with these keys (unmapped fields omitted). */
export const describeHrColumns = (mapping: ResolvedHrMapping, json: unknown): Partial<Record<HrField, string>> => {
  if (typeof json !== "object" || json === null || Array.isArray(json)) return {}
  const keys = keysOf(json as Record<string, unknown>)
  const out: Partial<Record<HrField, string>> = {}
  for (const field of Object.keys(mapping.columns) as Array<HrField>) {
    const column = columnFor(mapping, field, keys)
    if (column !== undefined) out[field] = column
  }
  return out
}
