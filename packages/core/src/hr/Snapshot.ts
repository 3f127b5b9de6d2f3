import { type Employee, type EmployeeStatus, foldHrEvents, type HrEvent, type HrEventType, type IsoDate } from "../Employee.js"
import { HR_LIMITS } from "./HrRecords.js"

/**
 * A snapshot row after pseudonymization: a person's state as the HR system shows it on `asOf`,
 * with the termination date it may give, and no status when it has none (the date decides then).
 */
export interface SnapshotRow extends Omit<Employee, "status"> {
  readonly terminationDate: IsoDate | null
  readonly status: EmployeeStatus | null
}

type Fields = Pick<SnapshotRow, "title" | "department" | "team" | "managerId" | "employeeRef">
const FIELDS = ["title", "department", "team", "managerId", "employeeRef"] as const

/** Fields the row states that the stored state does not have (a field the export lacks is not a change). */
const differs = (row: Fields, current: Employee) => FIELDS.some((f) => row[f] !== null && row[f] !== current[f])

/**
 * The HR events that explain the difference between a snapshot row and what is stored about the
 * person (their events `stored`), so that after them the stored state on `asOf` is the row's:
 * - not employed on `asOf` and the row is active: a hire on the hire date (or `asOf`; a rehire
 *   dated before the last termination is dated `asOf`); already hired in the future: nothing;
 * - employed and the row's title, department, team or manager differ: a role change on `asOf`;
 *   employed without a known hire date and the row has one: a hire on it;
 * - a termination date after `asOf` on an active row: a termination then, unless one is due by then;
 * - the row is terminated (by status, or a termination date on or before `asOf`): a termination on
 *   its date (or `asOf`) unless the person ends terminated already; a person never seen before
 *   gets their hire first when the row has a hire date.
 * The same row imported again yields nothing. People missing from a snapshot are left as they are.
 */
export const snapshotEvents = (
  row: SnapshotRow,
  stored: ReadonlyArray<HrEvent>,
  asOf: IsoDate,
  newId: () => string
): ReadonlyArray<HrEvent> => {
  const events: Array<HrEvent> = []
  const fields: Fields = { title: row.title, department: row.department, team: row.team, managerId: row.managerId, employeeRef: row.employeeRef }
  const emit = (type: HrEventType, effectiveDate: IsoDate) => events.push({ eventId: newId(), userId: row.userId, type, effectiveDate, ...fields })
  const current = foldHrEvents(row.userId, stored, asOf)
  const eventually = foldHrEvents(row.userId, stored, HR_LIMITS.latest)
  const terminated = row.status === "terminated" || (row.status === null && row.terminationDate !== null && row.terminationDate <= asOf)

  if (terminated) {
    if (eventually?.status === "terminated") return events
    if (current === undefined && row.hireDate !== null && (row.terminationDate === null || row.hireDate <= row.terminationDate)) emit("hire", row.hireDate)
    emit("termination", row.terminationDate ?? asOf)
    return events
  }
  if (current === undefined || current.status === "terminated") {
    const hiredLater = eventually?.status === "active" && eventually.hireDate !== null && eventually.hireDate === row.hireDate
    if (!hiredLater) {
      const lastTermination = stored.filter((e) => e.type === "termination" && e.effectiveDate <= asOf).reduce<string>((a, e) => (e.effectiveDate > a ? e.effectiveDate : a), "")
      emit("hire", row.hireDate !== null && row.hireDate > lastTermination ? row.hireDate : asOf)
    }
  } else if (current.hireDate === null && row.hireDate !== null && row.hireDate <= asOf) emit("hire", row.hireDate)
  else if (differs(fields, current)) emit("role_change", asOf)
  if (row.terminationDate !== null && row.terminationDate > asOf) {
    const due = foldHrEvents(row.userId, [...stored, ...events], row.terminationDate)
    if (due?.status !== "terminated") emit("termination", row.terminationDate)
  }
  return events
}
