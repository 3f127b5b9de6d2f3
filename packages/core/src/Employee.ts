import { Schema } from "effect"
import type { UserId } from "./Pseudonym.js"

/** A calendar day, `YYYY-MM-DD`, that is a real date. */
export const IsoDate = Schema.String.pipe(
  Schema.pattern(/^\d{4}-\d{2}-\d{2}$/),
  Schema.filter((s) => !Number.isNaN(Date.parse(`${s}T00:00:00Z`)) && new Date(`${s}T00:00:00Z`).toISOString().startsWith(s), {
    message: () => "expected a calendar date YYYY-MM-DD"
  }),
  Schema.brand("IsoDate")
)
export type IsoDate = typeof IsoDate.Type

export const HrEventType = Schema.Literal("hire", "role_change", "termination")
export type HrEventType = typeof HrEventType.Type

const OptionalText = Schema.optional(Schema.NullOr(Schema.String))

/**
 * One record of an HR feed (NDJSON, one object per line). `login` is the person's SSO login and is
 * pseudonymized on intake; `name` is accepted because HR exports carry it, and dropped.
 */
export const HrRecord = Schema.Struct({
  eventId: Schema.NonEmptyString,
  type: HrEventType,
  login: Schema.NonEmptyString,
  name: OptionalText,
  effectiveDate: IsoDate,
  title: OptionalText,
  department: OptionalText,
  team: OptionalText
})
export type HrRecord = typeof HrRecord.Type

/** An HR event after pseudonymization: what is stored in `hr_events`. */
export interface HrEvent {
  readonly eventId: string
  readonly userId: UserId
  readonly type: HrEventType
  readonly effectiveDate: IsoDate
  readonly title: string | null
  readonly department: string | null
  readonly team: string | null
  /** The manager: their pseudonym (`u_…`), or the keyed hash of their employee id (`e_…`) when HR gave only that. */
  readonly managerId: string | null
  /** The keyed hash (`e_…`) of the person's HR employee id, which other records' managers may name. */
  readonly employeeRef: string | null
}

export const EmployeeStatus = Schema.Literal("active", "terminated")
export type EmployeeStatus = typeof EmployeeStatus.Type

/** What HR says about an employee today, known only by pseudonym. */
export interface Employee {
  readonly userId: UserId
  readonly title: string | null
  readonly department: string | null
  readonly team: string | null
  readonly managerId: string | null
  readonly employeeRef: string | null
  readonly hireDate: IsoDate | null
  readonly status: EmployeeStatus
}

/**
 * An employee's state on `asOf` from their HR events effective by then, applied in
 * effective-date order (ties by event id): hires (re)activate, role changes update the fields
 * they carry, terminations end employment. A termination dated next month is not one yet.
 */
export const foldHrEvents = (userId: UserId, events: ReadonlyArray<HrEvent>, asOf: string): Employee | undefined => {
  // Not an employee yet when nothing is effective: a hire dated next week starts next week.
  const ordered = events.filter((e) => e.effectiveDate <= asOf).sort((a, b) =>
    a.effectiveDate === b.effectiveDate ? a.eventId.localeCompare(b.eventId) : a.effectiveDate.localeCompare(b.effectiveDate)
  )
  let employee: Employee = { userId, title: null, department: null, team: null, managerId: null, employeeRef: null, hireDate: null, status: "active" }
  for (const e of ordered) {
    const fields = {
      title: e.title ?? employee.title,
      department: e.department ?? employee.department,
      team: e.team ?? employee.team,
      managerId: e.managerId ?? employee.managerId,
      employeeRef: e.employeeRef ?? employee.employeeRef
    }
    switch (e.type) {
      case "hire":
        employee = { ...employee, ...fields, hireDate: e.effectiveDate, status: "active" }
        break
      case "role_change":
        employee = { ...employee, ...fields }
        break
      case "termination":
        employee = { ...employee, status: "terminated" }
        break
    }
  }
  return ordered.length === 0 ? undefined : employee
}

/**
 * Whether the user's role (title, department or team) on `asOf` differs from what it was on
 * `since`, their last categorization: a promotion or a move is a reason to look again. A first
 * HR record after the categorization counts; a termination does not (terminated staff are not
 * categorized).
 */
export const roleChanged = (userId: UserId, events: ReadonlyArray<HrEvent>, since: string, asOf: string): boolean => {
  if (!events.some((e) => e.effectiveDate > since && e.effectiveDate <= asOf && e.type !== "termination")) return false
  const before = foldHrEvents(userId, events, since)
  const after = foldHrEvents(userId, events, asOf)
  return before?.title !== after?.title || before?.department !== after?.department || before?.team !== after?.team
}
