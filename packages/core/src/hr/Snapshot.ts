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
 * - the row is terminated (by status, or a termination date on or before `asOf`): a termination
 *   on its date (or `asOf`; a person never seen before gets their hire first when the row has a
 *   hire date), unless they are terminated on `asOf` already, that termination is stored, or it
 *   ended an earlier employment (it is dated before their latest hire);
 * - the row is active and the person not employed on `asOf`: a hire on the hire date (or on
 *   `asOf` when the hire date is not after their last termination); already hired for later: none;
 * - employed without a known hire date and the row has one: a hire on it;
 * - then, if title, department, team or manager still differ from the row: a role change on `asOf`;
 * - a termination date after `asOf` on an active row: a termination then, unless one is due by then.
 * A `secondary` row (a later row of a person already read in the same import: a second position,
 * an old employment) may only bring the person back into employment; otherwise it adds nothing.
 * The same row imported again yields nothing. People missing from a snapshot are left as they are,
 * and a snapshot cannot withdraw a termination stored for a later day.
 */
export const snapshotEvents = (
  row: SnapshotRow,
  stored: ReadonlyArray<HrEvent>,
  asOf: IsoDate,
  newId: () => string,
  secondary = false
): ReadonlyArray<HrEvent> => {
  const events: Array<HrEvent> = []
  const fields: Fields = { title: row.title, department: row.department, team: row.team, managerId: row.managerId, employeeRef: row.employeeRef }
  const emit = (type: HrEventType, effectiveDate: IsoDate) => events.push({ eventId: newId(), userId: row.userId, type, effectiveDate, ...fields })
  const now = () => foldHrEvents(row.userId, [...stored, ...events], asOf)
  const current = now()
  const employed = current !== undefined && current.status === "active"
  const terminated = row.status === "terminated" || (row.status === null && row.terminationDate !== null && row.terminationDate <= asOf)
  if (secondary && (terminated || employed)) return events

  if (terminated) {
    const on = row.terminationDate ?? asOf
    const latestHire = current?.hireDate ?? null
    const stale = current?.status === "terminated" || stored.some((e) => e.type === "termination" && e.effectiveDate === on) || (latestHire !== null && on < latestHire)
    if (stale) return events
    if (current === undefined && row.hireDate !== null && row.hireDate <= on) emit("hire", row.hireDate)
    emit("termination", on)
    return events
  }
  if (!employed) {
    const eventually = foldHrEvents(row.userId, stored, HR_LIMITS.latest)
    const hiredLater = eventually?.status === "active" && eventually.hireDate !== null && eventually.hireDate === row.hireDate
    if (!hiredLater) {
      const lastTermination = stored.filter((e) => e.type === "termination" && e.effectiveDate <= asOf).reduce<string>((a, e) => (e.effectiveDate > a ? e.effectiveDate : a), "")
      emit("hire", row.hireDate !== null && row.hireDate > lastTermination ? row.hireDate : asOf)
    }
  } else if (current.hireDate === null && row.hireDate !== null && row.hireDate <= asOf) emit("hire", row.hireDate)
  const after = now()
  if (after !== undefined && after.status === "active" && differs(fields, after)) emit("role_change", asOf)
  if (row.terminationDate !== null && row.terminationDate > asOf) {
    const due = foldHrEvents(row.userId, [...stored, ...events], row.terminationDate)
    if (due?.status !== "terminated") emit("termination", row.terminationDate)
  }
  return events
}
